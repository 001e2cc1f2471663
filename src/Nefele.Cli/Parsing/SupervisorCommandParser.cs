using System.Globalization;
using Nefele.Cli.Commands;

namespace Nefele.Cli.Parsing;

/// <summary>The grammar of sup start|ls|show|resize|stop (global options such as --tenant may appear among their flags).</summary>
internal static class SupervisorCommandParser
{
    public static INefCommand ParseSup(ArgCursor cursor, GlobalOptions globals)
    {
        var verb = cursor.AtEnd ? null : cursor.Take();
        if (verb is "-h" or "--help")
        {
            globals.TryTake(verb, cursor);
            verb = null;
        }

        if (verb is not ("start" or "ls" or "show" or "resize" or "stop"))
        {
            return globals.Help ? new HelpCommand("sup") : throw new UsageException(
                $"sup: expected start, ls, show, resize or stop{(verb is null ? string.Empty : $", not '{verb}'")} (sup start FILE.json | ls | show NAME | resize NAME N | stop NAME)");
        }

        var json = false;
        string? name = null;
        var operands = new List<string>();
        foreach (var (token, positional) in CommandLineParser.Tokens(cursor, globals))
        {
            var (flag, inline) = ArgCursor.Split(token);
            switch (positional ? null : flag)
            {
                case null:
                    operands.Add(token);
                    break;
                case "--json" when inline is null && verb != "stop":
                    json = true;
                    break;
                case "--name" when verb == "start":
                    name = cursor.TakeValue(flag, inline);
                    break;
                default:
                    throw CommandLineParser.UnknownOption("sup", token);
            }
        }

        if (globals.Help)
        {
            return new HelpCommand("sup");
        }

        return verb switch
        {
            "start" => new SupStartCommand(Operands(operands, 0, 1, "sup start", "[FILE.json]").FirstOrDefault(), name, json),
            "ls" => operands.Count == 0 ? new SupListCommand(json) : throw new UsageException($"sup ls: unexpected argument {operands[0]}"),
            "show" => new SupShowCommand(Operands(operands, 1, 1, "sup show", "NAME")[0], json),
            "resize" => Resize(Operands(operands, 2, 2, "sup resize", "NAME N"), json),
            _ => new SupStopCommand(Operands(operands, 1, 1, "sup stop", "NAME")[0]),
        };
    }

    private static SupResizeCommand Resize(List<string> operands, bool json) =>
        int.TryParse(operands[1], NumberStyles.None, CultureInfo.InvariantCulture, out var size)
            ? new SupResizeCommand(operands[0], size, json)
            : throw new UsageException($"sup resize: N must be a whole number of copies, not '{operands[1]}'");

    private static List<string> Operands(List<string> operands, int min, int max, string verb, string synopsis) =>
        operands.Count >= min && operands.Count <= max ? operands
        : throw new UsageException($"{verb}: expected {synopsis}, got {(operands.Count == 0 ? "nothing" : string.Join(' ', operands))}");
}
