namespace Nefele.Cli.Parsing;

/// <summary>
/// killall's matching: the program's basename (of the command's first word) starts with the
/// pattern. A trailing '*' is allowed and means the same ("prog*").
/// </summary>
internal static class ProgramPattern
{
    public static string ProgramName(string command)
    {
        var trimmed = command.TrimStart();
        var space = trimmed.IndexOf(' ', StringComparison.Ordinal);
        var first = space < 0 ? trimmed : trimmed[..space];
        var slash = first.LastIndexOf('/');
        return slash < 0 ? first : first[(slash + 1)..];
    }

    public static string Normalize(string pattern) => pattern.TrimEnd('*');

    public static bool Matches(string command, string pattern) =>
        ProgramName(command).StartsWith(Normalize(pattern), StringComparison.Ordinal);
}
