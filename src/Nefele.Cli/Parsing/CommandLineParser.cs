using System.Globalization;
using Nefele.Cli.Commands;
using Nefele.Cli.Json;
using Nefele.Cli.Transport;
using Nefele.Client;
using Nefele.Processes;
using Nefele.Validation;

namespace Nefele.Cli.Parsing;

/// <summary>
/// nef's grammar. Global options (--tenant, --api, -h) go before the command or among its flags.
/// For spawn and nspawn, "--" ends the flags and everything after it is PATH and ARGS verbatim
/// (further "--" included); without "--", the first argument that is not a flag starts the program.
/// </summary>
internal static class CommandLineParser
{
    public static Invocation Parse(IReadOnlyList<string> args)
    {
        var globals = new GlobalOptions();
        var cursor = new ArgCursor(args);
        while (!cursor.AtEnd && cursor.Peek().StartsWith('-') && cursor.Peek() != "--")
        {
            var token = cursor.Take();
            if (!globals.TryTake(token, cursor))
            {
                var hint = Suggestions.DidYouMean(ArgCursor.Split(token).Name, CommandCatalogue.GlobalFlags);
                throw new UsageException($"unknown option {token}{(hint.Length > 0 ? hint : " (try nef help)")}");
            }
        }

        if (cursor.AtEnd)
        {
            return globals.Help ? new Invocation(globals, new HelpCommand(null))
                : globals.Version ? new Invocation(globals, new VersionCommand())
                : throw new UsageException("missing command (try nef help)");
        }

        var name = cursor.Take();
        INefCommand command = name switch
        {
            "spawn" => ParseSpawn(cursor, globals, multi: false),
            "nspawn" => ParseSpawn(cursor, globals, multi: true),
            "cspawn" => ParseCspawn(cursor, globals),
            "ps" => ParsePs(cursor, globals),
            "monitor" => new MonitorCommand(ParseNpids(cursor, globals, "monitor")),
            "kill" => ParseKill(cursor, globals),
            "killall" => ParseKillall(cursor, globals),
            "logs" => ParseLogs(cursor, globals),
            "attach" => ParseAttach(cursor, globals),
            "send" => MessagingCommandParser.ParseSend(cursor, globals, publish: false),
            "publish" => MessagingCommandParser.ParseSend(cursor, globals, publish: true),
            "recv" => MessagingCommandParser.ParseRecv(cursor, globals),
            "register" => MessagingCommandParser.ParseRegister(cursor, globals, remove: false),
            "unregister" => MessagingCommandParser.ParseRegister(cursor, globals, remove: true),
            "wait" => MessagingCommandParser.ParseWait(cursor, globals),
            "names" => MessagingCommandParser.ParseNames(cursor, globals),
            "subscribe" => MessagingCommandParser.ParseSubscribe(cursor, globals, remove: false),
            "unsubscribe" => MessagingCommandParser.ParseSubscribe(cursor, globals, remove: true),
            "tenant" => AdminCommandParser.ParseTenant(cursor, globals),
            "key" => AdminCommandParser.ParseKey(cursor, globals),
            "whoami" => AdminCommandParser.ParseWhoAmI(cursor, globals),
            "sup" => SupervisorCommandParser.ParseSup(cursor, globals),
            "images" => ImageCommandParser.ParseImages(cursor, globals),
            "image" => ImageCommandParser.ParseImage(cursor, globals),
            "help" => ParseHelp(cursor),
            "completion" => ParseCompletion(cursor, globals),
            _ => throw new UsageException($"unknown command '{name}'{Hint(name, CommandCatalogue.Commands.Select(c => c.Name), "try nef help")}"),
        };

        return new Invocation(globals, globals.Help ? new HelpCommand(name) : command);
    }

    private static INefCommand ParseSpawn(ArgCursor cursor, GlobalOptions globals, bool multi)
    {
        var verb = multi ? "nspawn" : "spawn";
        var count = 1;
        if (multi)
        {
            if (cursor.AtEnd || cursor.Peek().StartsWith('-'))
            {
                // "nspawn -h" is still help.
                if (!cursor.AtEnd && cursor.Peek() is "-h" or "--help")
                {
                    globals.TryTake(cursor.Take(), cursor);
                    return new HelpCommand(verb);
                }

                throw new UsageException("nspawn: missing COUNT (nspawn COUNT [FLAGS] -- PATH [ARGS...])");
            }

            var text = cursor.Take();
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count < 1)
            {
                throw new UsageException($"nspawn: COUNT must be a positive whole number, got '{text}'");
            }
        }

        long cpu = 0, memory = 0;
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        string? processName = null, cwd = null, requestId = null, image = null;
        bool noHandshake = false, partial = false, spread = false, wait = false, tty = false;
        var devices = new Dictionary<string, long>(StringComparer.Ordinal);
        var rlimits = new Dictionary<string, long>(StringComparer.Ordinal);
        List<string> affinity = [], antiAffinity = [];
        IReadOnlyList<string>? program = null;
        while (!cursor.AtEnd)
        {
            var token = cursor.Peek();
            if (token == "--")
            {
                cursor.Take();
                program = cursor.TakeRest();
                break;
            }

            if (!token.StartsWith('-') || token == "-")
            {
                program = cursor.TakeRest();
                break;
            }

            cursor.Take();
            var (flag, inline) = ArgCursor.Split(token);
            switch (flag)
            {
                case "--cpu":
                    cpu = Units.ParseCpu(cursor.TakeValue(flag, inline), "--cpu");
                    break;
                case "--mem":
                    memory = Units.ParseMemory(cursor.TakeValue(flag, inline), "--mem");
                    break;
                case "--env":
                    var pair = cursor.TakeValue(flag, inline);
                    var eq = pair.IndexOf('=', StringComparison.Ordinal);
                    if (eq < 1)
                    {
                        throw new UsageException($"--env: expected K=V, got '{pair}'");
                    }

                    env[pair[..eq]] = pair[(eq + 1)..];
                    break;
                case "--name":
                    processName = cursor.TakeValue(flag, inline);
                    break;
                case "--cwd":
                    cwd = cursor.TakeValue(flag, inline);
                    break;
                case "--image":
                    image = cursor.TakeValue(flag, inline);
                    break;
                case "--request-id":
                    requestId = cursor.TakeValue(flag, inline);
                    break;
                case "--no-handshake" when inline is null:
                    noHandshake = true;
                    break;
                case "--tty" when inline is null:
                    tty = true;
                    break;
                case "--wait" when inline is null && !multi:
                    wait = true;
                    break;
                case "--partial" when inline is null && multi:
                    partial = true;
                    break;
                case "--spread" when inline is null && multi:
                    spread = true;
                    break;
                case "--device":
                    var (device, howMany) = Device(cursor.TakeValue(flag, inline));
                    devices[device] = howMany;
                    break;
                case "--rlimit":
                    var (rlimit, limitValue) = Rlimit(cursor.TakeValue(flag, inline));
                    rlimits[rlimit] = limitValue;
                    break;
                case "--affinity":
                    affinity.Add(cursor.TakeValue(flag, inline));
                    break;
                case "--anti-affinity":
                    antiAffinity.Add(cursor.TakeValue(flag, inline));
                    break;
                default:
                    if (!globals.TryTake(token, cursor))
                    {
                        throw UnknownOption(verb, token);
                    }

                    break;
            }
        }

        if (globals.Help)
        {
            return new HelpCommand(verb);
        }

        // From an image the program may be left out: the image's command runs.
        if ((program is not { Count: > 0 } || program[0].Length == 0) && image is null)
        {
            throw new UsageException($"{verb}: missing PATH ({verb} {(multi ? "COUNT " : string.Empty)}[FLAGS] -- PATH [ARGS...])");
        }

        if (image is not null && !Nefele.Images.ImageReference.TryParse(image, out _))
        {
            throw new UsageException($"--image: '{image}' is invalid: use {Nefele.Images.ImageReference.Rule}");
        }

        program ??= [];
        var spec = new ProcessSpec
        {
            Path = program.Count > 0 ? program[0] : string.Empty,
            Args = [.. program.Skip(1)],
            Image = image,
            Env = env,
            Cwd = cwd,
            CpuMillis = cpu,
            MemoryBytes = memory,
            Name = processName,
            NoHandshake = noHandshake,
            Devices = devices,
            Affinity = affinity,
            AntiAffinity = antiAffinity,
            Rlimits = rlimits,
            Tty = tty,
        };
        return new SpawnCommand(new SpawnBatch([spec], count, partial, requestId, spread), wait);
    }

    /// <summary>"nofile=1024": a resource limit by name (checked by the shared spec rules).</summary>
    private static (string Name, long Value) Rlimit(string text)
    {
        var eq = text.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0 || !long.TryParse(text[(eq + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            throw new UsageException($"--rlimit: expected NAME=N with NAME one of {string.Join(", ", SpecValidator.RlimitNames)} (e.g. nofile=1024), got '{text}'");
        }

        return (text[..eq], value);
    }

    /// <summary>"gpu=2" or "gpu" (one).</summary>
    private static (string Name, long Count) Device(string text)
    {
        var eq = text.IndexOf('=', StringComparison.Ordinal);
        var name = eq < 0 ? text : text[..eq];
        if (name.Length == 0 || (eq >= 0 && (!long.TryParse(text[(eq + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) || n < 1)))
        {
            throw new UsageException($"--device: expected NAME=COUNT with COUNT at least 1 (e.g. gpu=1), got '{text}'");
        }

        return (name, eq < 0 ? 1 : long.Parse(text[(eq + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }

    private static INefCommand ParseCspawn(ArgCursor cursor, GlobalOptions globals)
    {
        string? file = null, requestId = null;
        bool partial = false, spread = false;
        foreach (var (token, positional) in Tokens(cursor, globals))
        {
            if (positional)
            {
                file = file is null ? token : throw new UsageException($"cspawn: takes one FILE, got '{file}' and '{token}'");
                continue;
            }

            var (flag, inline) = ArgCursor.Split(token);
            switch (flag)
            {
                case "--partial" when inline is null:
                    partial = true;
                    break;
                case "--spread" when inline is null:
                    spread = true;
                    break;
                case "--request-id":
                    requestId = cursor.TakeValue(flag, inline);
                    break;
                default:
                    throw UnknownOption("cspawn", token);
            }
        }

        return globals.Help ? new HelpCommand("cspawn")
            : file is null ? throw new UsageException("cspawn: missing FILE (cspawn FILE.json)")
            : new CspawnCommand(file, partial, requestId, spread);
    }

    private static PsCommand ParsePs(ArgCursor cursor, GlobalOptions globals)
    {
        var json = false;
        var all = false;
        foreach (var (token, positional) in Tokens(cursor, globals))
        {
            if (!positional && token == "--json")
            {
                json = true;
            }
            else if (!positional && token is "-a" or "--all")
            {
                all = true;
            }
            else
            {
                throw positional ? new UsageException($"ps: unexpected argument {token}") : UnknownOption("ps", token);
            }
        }

        return new PsCommand(json, all);
    }

    private static List<string> ParseNpids(ArgCursor cursor, GlobalOptions globals, string verb)
    {
        var npids = new List<string>();
        foreach (var (token, positional) in Tokens(cursor, globals))
        {
            npids.Add(positional ? CheckNpid(token) : throw UnknownOption(verb, token));
        }

        return npids.Count > 0 || globals.Help ? npids : throw new UsageException($"{verb}: missing NPID");
    }

    private static KillCommand ParseKill(ArgCursor cursor, GlobalOptions globals)
    {
        var (signal, operands) = SignalAndOperands(cursor, globals, "kill");
        if (operands.Count == 0 && !globals.Help)
        {
            throw new UsageException("kill: missing NPID (kill [-SIGNAL] NPID...)");
        }

        return new KillCommand(signal, [.. operands.Select(CheckNpid)]);
    }

    private static INefCommand ParseKillall(ArgCursor cursor, GlobalOptions globals)
    {
        var (signal, operands) = SignalAndOperands(cursor, globals, "killall");
        if (globals.Help)
        {
            return new HelpCommand("killall");
        }

        if (operands.Count != 1)
        {
            throw new UsageException(operands.Count == 0
                ? "killall: missing PATTERN (killall [-SIGNAL] PATTERN)"
                : "killall: takes one PATTERN");
        }

        if (ProgramPattern.Normalize(operands[0]).Length == 0)
        {
            throw new UsageException($"killall: PATTERN '{operands[0]}' matches every program; name one (e.g. worker or work*)");
        }

        return new KillallCommand(signal, operands[0]);
    }

    private static INefCommand ParseAttach(ArgCursor cursor, GlobalOptions globals)
    {
        var readOnly = false;
        var keys = Terminal.DetachKeys.Parse(Terminal.DetachKeys.Default);
        string? npid = null;
        foreach (var (token, positional) in Tokens(cursor, globals))
        {
            if (positional)
            {
                npid = npid is null ? CheckNpid(token) : throw new UsageException("attach: takes one NPID");
            }
            else if (token == "--read-only")
            {
                readOnly = true;
            }
            else if (ArgCursor.Split(token) is ("--detach-keys", var inline))
            {
                try
                {
                    keys = Terminal.DetachKeys.Parse(cursor.TakeValue("--detach-keys", inline));
                }
                catch (FormatException e)
                {
                    throw new UsageException("attach: --detach-keys: " + e.Message);
                }
            }
            else
            {
                throw UnknownOption("attach", token);
            }
        }

        return globals.Help ? new HelpCommand("attach")
            : npid is null ? throw new UsageException("attach: missing NPID (attach [--read-only] [--detach-keys KEYS] NPID)")
            : new AttachCommand(npid, readOnly, keys);
    }

    private static INefCommand ParseLogs(ArgCursor cursor, GlobalOptions globals)
    {
        var filter = new Commands.LogsFilter();
        var npids = new List<string>();
        var timestamps = false;
        foreach (var (token, positional) in Tokens(cursor, globals))
        {
            if (positional)
            {
                npids.Add(CheckNpid(token));
                continue;
            }

            var (flag, inline) = ArgCursor.Split(token);
            switch (flag)
            {
                case "-f" or "--follow" when inline is null:
                    filter = filter with { Follow = true };
                    break;
                case "-t" or "--timestamps" when inline is null:
                    timestamps = true;
                    break;
                case "--npid":
                    npids.Add(CheckNpid(cursor.TakeValue(flag, inline)));
                    break;
                case "--name":
                    var name = cursor.TakeValue(flag, inline);
                    filter = filter with
                    {
                        Name = Nefele.Validation.Names.IsProcessName(name)
                            ? name
                            : throw new UsageException($"logs: --name '{name}' is not a process name (1-64 letters, digits, '.', '_' or '-', as spawn --name takes)"),
                    };
                    break;
                case "--node":
                    var node = cursor.TakeValue(flag, inline);
                    filter = filter with { Node = node.Length > 0 ? node : throw new UsageException("logs: --node needs a node's name") };
                    break;
                case "--stream":
                    filter = filter with { Stream = LogFilter(flag, () => Nefele.Validation.LogFilters.ParseStream(cursor.TakeValue(flag, inline))) };
                    break;
                case "--since" or "--until":
                    var text = cursor.TakeValue(flag, inline);
                    LogFilter(flag, () => Nefele.Validation.LogFilters.ParseTime(text, DateTimeOffset.UtcNow));
                    filter = flag == "--since" ? filter with { Since = text } : filter with { Until = text };
                    break;
                default:
                    throw UnknownOption("logs", token);
            }
        }

        // No NPID and no filter reads every process of the tenant, as docker compose logs does every service.
        return globals.Help ? new HelpCommand("logs") : new LogsCommand(filter with { Npids = npids.Distinct(StringComparer.Ordinal).ToArray() }, timestamps);
    }

    /// <summary>A log filter's value through the shared grammar; its error becomes a usage error naming the flag.</summary>
    private static T LogFilter<T>(string flag, Func<T> parse)
    {
        try
        {
            return parse();
        }
        catch (FormatException e)
        {
            throw new UsageException($"logs: {flag}: {e.Message}");
        }
    }

    /// <summary>kill's and killall's operands: one optional -SIGNAL (default TERM) before or among them.</summary>
    private static (int Signal, List<string> Operands) SignalAndOperands(ArgCursor cursor, GlobalOptions globals, string verb)
    {
        int? signal = null;
        var operands = new List<string>();
        foreach (var (token, positional) in Tokens(cursor, globals))
        {
            if (positional)
            {
                operands.Add(token);
                continue;
            }

            var (flag, inline) = ArgCursor.Split(token);
            var text = flag is "-s" or "--signal" ? cursor.TakeValue(flag, inline) : token[1..];
            if (signal is not null)
            {
                throw new UsageException($"{verb}: more than one signal given");
            }

            signal = Signals.Parse(text) ?? throw new UsageException($"{verb}: unknown signal '{text}' (use a number, KILL or SIGKILL)");
        }

        return (signal ?? Signals.SigTerm, operands);
    }

    /// <summary>
    /// The remaining arguments, each marked positional or not; global options are consumed on the
    /// way, and after "--" everything is positional.
    /// </summary>
    internal static IEnumerable<(string Token, bool Positional)> Tokens(ArgCursor cursor, GlobalOptions globals)
    {
        var positionalOnly = false;
        while (!cursor.AtEnd)
        {
            var token = cursor.Take();
            if (positionalOnly || !token.StartsWith('-') || token == "-")
            {
                yield return (token, true);
            }
            else if (token == "--")
            {
                positionalOnly = true;
            }
            else if (!globals.TryTake(token, cursor))
            {
                yield return (token, false);
            }
        }
    }

    private static HelpCommand ParseHelp(ArgCursor cursor)
    {
        var topic = cursor.AtEnd ? null : cursor.Take();
        if (topic is not null && CommandCatalogue.Find(topic) is null)
        {
            throw new UsageException($"help: no command '{topic}'{Hint(topic, CommandCatalogue.Commands.Select(c => c.Name), "try nef help")}");
        }

        return new HelpCommand(topic);
    }

    private static INefCommand ParseCompletion(ArgCursor cursor, GlobalOptions globals)
    {
        var shells = new List<string>();
        foreach (var (token, positional) in Tokens(cursor, globals))
        {
            shells.Add(positional ? token : throw UnknownOption("completion", token));
        }

        if (globals.Help)
        {
            return new HelpCommand("completion");
        }

        return shells switch
        {
            ["bash" or "zsh"] => new CompletionCommand(shells[0]),
            [var other] => throw new UsageException($"completion: no script for '{other}' (bash or zsh){Hint(other, ["bash", "zsh"], null)}"),
            _ => throw new UsageException("completion: name one shell: nef completion bash|zsh"),
        };
    }

    /// <summary>An unknown flag of <paramref name="verb"/>, with the nearest of its flags (or the global ones) when it looks like a typo.</summary>
    internal static UsageException UnknownOption(string verb, string token)
    {
        var flags = (CommandCatalogue.Find(verb)?.Flags ?? []).Concat(CommandCatalogue.GlobalFlags).Where(f => f.StartsWith('-'));
        return new UsageException($"{verb}: unknown option {token}{Hint(ArgCursor.Split(token).Name, flags, $"try nef help {verb}")}");
    }

    /// <summary>" (did you mean X?)", else " (FALLBACK)" when there is one.</summary>
    private static string Hint(string typed, IEnumerable<string> candidates, string? fallback)
    {
        var hint = Suggestions.DidYouMean(typed, candidates);
        return hint.Length > 0 ? hint : fallback is null ? string.Empty : $" ({fallback})";
    }

    private static string CheckNpid(string text) =>
        Npid.IsWellFormed(text) ? text : throw new UsageException($"'{text}' is not an NPID");
}
