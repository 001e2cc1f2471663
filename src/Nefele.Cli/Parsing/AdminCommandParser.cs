using System.Globalization;
using Nefele.Auth;
using Nefele.Cli.Commands;
using Nefele.Client;
using Nefele.Tenants;

namespace Nefele.Cli.Parsing;

/// <summary>The grammar of tenant, key and whoami (global options such as --tenant may appear among their flags).</summary>
internal static class AdminCommandParser
{
    public static INefCommand ParseWhoAmI(ArgCursor cursor, GlobalOptions globals)
    {
        foreach (var (token, _) in CommandLineParser.Tokens(cursor, globals))
        {
            throw new UsageException($"whoami: unexpected argument {token}");
        }

        return new WhoAmICommand();
    }

    public static INefCommand ParseTenant(ArgCursor cursor, GlobalOptions globals)
    {
        var verb = cursor.AtEnd ? null : cursor.Take();
        if (verb is "-h" or "--help")
        {
            globals.TryTake(verb, cursor);
            verb = null;
        }

        switch (verb)
        {
            case "create":
                string? name = null;
                var privileged = false;
                long cpu = 0, memory = 0;
                int processes = 0, rate = 0;
                foreach (var (token, positional) in CommandLineParser.Tokens(cursor, globals))
                {
                    var (flag, inline) = ArgCursor.Split(token);
                    switch (positional ? null : flag)
                    {
                        case null when name is null:
                            name = token;
                            break;
                        case "--privileged" when inline is null:
                            privileged = true;
                            break;
                        case "--cpu":
                            cpu = Units.ParseCpu(cursor.TakeValue(flag, inline), "--cpu");
                            break;
                        case "--mem":
                            memory = Units.ParseMemory(cursor.TakeValue(flag, inline), "--mem");
                            break;
                        case "--max-processes":
                            processes = Count(cursor.TakeValue(flag, inline), flag);
                            break;
                        case "--spawn-rate":
                            rate = Count(cursor.TakeValue(flag, inline), flag);
                            break;
                        default:
                            throw new UsageException($"tenant create: unexpected argument {token}");
                    }
                }

                return new TenantCreateCommand(new TenantCreateRequest
                {
                    Name = name ?? (globals.Help ? string.Empty : throw new UsageException("tenant create: missing NAME")),
                    Privileged = privileged,
                    Quotas = new TenantQuotas { CpuMillis = cpu, MemoryBytes = memory, Processes = processes, SpawnsPerSecond = rate },
                });
            case "ls":
                ParseWhoAmI(cursor, globals);
                return new TenantListCommand();
            case "rm":
                return new TenantRemoveCommand(OneName(cursor, globals, "tenant rm", "NAME"));
            default:
                return globals.Help ? new HelpCommand("tenant") : throw new UsageException("tenant: expected create, ls or rm (tenant create|ls|rm NAME)");
        }
    }

    public static INefCommand ParseKey(ArgCursor cursor, GlobalOptions globals)
    {
        var verb = cursor.AtEnd ? null : cursor.Take();
        if (verb is "-h" or "--help")
        {
            globals.TryTake(verb, cursor);
            verb = null;
        }

        switch (verb)
        {
            case "create":
                string? name = null;
                var role = Role.Member;
                long? expires = null;
                foreach (var (token, positional) in CommandLineParser.Tokens(cursor, globals))
                {
                    var (flag, inline) = ArgCursor.Split(token);
                    switch (positional ? null : flag)
                    {
                        case "--name":
                            name = cursor.TakeValue(flag, inline);
                            break;
                        case "--role":
                            var text = cursor.TakeValue(flag, inline);
                            role = text switch
                            {
                                "owner" => Role.Owner,
                                "member" => Role.Member,
                                "viewer" => Role.Viewer,
                                _ => throw new UsageException($"--role: '{text}' is not owner, member or viewer"),
                            };
                            break;
                        case "--expires":
                            expires = Seconds(cursor.TakeValue(flag, inline), flag);
                            break;
                        default:
                            throw new UsageException($"key create: unexpected argument {token}");
                    }
                }

                return new KeyCreateCommand(new KeyCreateRequest
                {
                    Name = name ?? (globals.Help ? string.Empty : throw new UsageException("key create: missing --name N")),
                    Role = role,
                    ExpiresInSeconds = expires,
                });
            case "ls":
                ParseWhoAmI(cursor, globals);
                return new KeyListCommand();
            case "revoke":
                return new KeyRevokeCommand(OneName(cursor, globals, "key revoke", "NAME"));
            default:
                return globals.Help ? new HelpCommand("key") : throw new UsageException("key: expected create, ls or revoke (key create --tenant T --name N [--role R] [--expires 30d])");
        }
    }

    private static string OneName(ArgCursor cursor, GlobalOptions globals, string verb, string what)
    {
        var names = new List<string>();
        foreach (var (token, positional) in CommandLineParser.Tokens(cursor, globals))
        {
            names.Add(positional ? token : throw new UsageException($"{verb}: unknown option {token}"));
        }

        return names.Count == 1 || globals.Help ? names.FirstOrDefault() ?? string.Empty : throw new UsageException($"{verb}: expected one {what}");
    }

    private static int Count(string text, string flag) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : throw new UsageException($"{flag}: '{text}' is not a whole number");

    /// <summary>A lifetime: a whole number with s, m, h or d (30d, 12h, 90m, 3600s).</summary>
    internal static long Seconds(string text, string flag)
    {
        var unit = text.Length > 1 ? text[^1] : ' ';
        var scale = unit switch { 's' => 1L, 'm' => 60L, 'h' => 3600L, 'd' => 86400L, _ => 0L };
        if (scale == 0 || !long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1 || n > 36500L * 86400 / scale)
        {
            throw new UsageException($"{flag}: '{text}' is not a lifetime (a positive whole number with s, m, h or d, e.g. 30d)");
        }

        return n * scale;
    }
}
