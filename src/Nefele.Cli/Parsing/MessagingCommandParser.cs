using Nefele.Cli.Commands;
using Nefele.Client;
using Nefele.InProcess;
using Nefele.Processes;
using Nefele.Validation;
using DeliveryMode = Nefele.Protocol.V1.DeliveryMode;

namespace Nefele.Cli.Parsing;

/// <summary>
/// The messaging commands: send, publish, recv, register, unregister, wait, names, subscribe,
/// unsubscribe. Names, destinations and tags are checked with the shared rules (Nefele.Validation.Names)
/// before anything is sent, so a bad one is a usage error (status 2) naming what was wrong.
/// </summary>
internal static class MessagingCommandParser
{
    /// <summary>How long recv and wait wait unless told: one wait of the node.</summary>
    public static readonly TimeSpan DefaultTimeout = Limits.MaxMessagingWait;

    public static INefCommand ParseSend(ArgCursor cursor, GlobalOptions globals, bool publish)
    {
        var verb = publish ? "publish" : "send";
        string? to = null, tag = null;
        var mode = publish ? DeliveryMode.Publish : DeliveryMode.Unspecified;
        var ack = false;
        var wait = TimeSpan.Zero;
        foreach (var (token, positional) in CommandLineParser.Tokens(cursor, globals))
        {
            if (positional)
            {
                to = to is null ? token : throw new UsageException($"{verb}: takes one {(publish ? "TOPIC" : "DEST")}, got '{to}' and '{token}'");
                continue;
            }

            var (flag, inline) = ArgCursor.Split(token);
            switch (flag)
            {
                case "--tag":
                    tag = Tag(verb, cursor.TakeValue(flag, inline));
                    break;
                case "--mode" when !publish:
                    var text = cursor.TakeValue(flag, inline);
                    mode = text switch
                    {
                        "any" => DeliveryMode.Any,
                        "failover" => DeliveryMode.Failover,
                        "all" => DeliveryMode.All,
                        "broadcast" => DeliveryMode.Broadcast,
                        "publish" => DeliveryMode.Publish,
                        _ => throw new UsageException($"{verb}: --mode '{text}' is not one of any, failover, all, broadcast, publish"),
                    };
                    break;
                case "--ack" when inline is null:
                    ack = true;
                    break;
                case "--wait":
                    wait = Durations.Parse(cursor.TakeValue(flag, inline), "--wait");
                    if (wait > Limits.MaxMessagingWait)
                    {
                        throw new UsageException($"{verb}: --wait {Durations.Format(wait)} is longer than the most a send waits for room, {Durations.Format(Limits.MaxMessagingWait)}");
                    }

                    break;
                default:
                    throw CommandLineParser.UnknownOption(verb, token);
            }
        }

        if (globals.Help)
        {
            return new HelpCommand(verb);
        }

        if (mode == DeliveryMode.Broadcast)
        {
            // The whole tenant: a destination, if given, is only shown to receivers.
            to ??= "*";
        }
        else if (to is null)
        {
            throw new UsageException(publish ? "publish: missing TOPIC (publish TOPIC < data)" : "send: missing DEST (send DEST [--tag T] < data)");
        }
        else if (mode == DeliveryMode.Publish)
        {
            Check(verb, () => Names.ValidateServiceName(to, "topic"));
        }
        else
        {
            Check(verb, () => Names.ValidateDestination(to));
        }

        return new SendCommand(to, new SendOptions { Tag = tag, Mode = mode, Ack = ack, Wait = wait });
    }

    public static INefCommand ParseRecv(ArgCursor cursor, GlobalOptions globals)
    {
        var timeout = DefaultTimeout;
        string? tag = null;
        foreach (var (token, positional) in CommandLineParser.Tokens(cursor, globals))
        {
            var (flag, inline) = positional ? (token, null) : ArgCursor.Split(token);
            switch (flag)
            {
                case "--timeout" when !positional:
                    timeout = Durations.Parse(cursor.TakeValue(flag, inline), "--timeout");
                    break;
                case "--tag" when !positional:
                    tag = Tag("recv", cursor.TakeValue(flag, inline));
                    break;
                default:
                    throw positional ? new UsageException($"recv: unexpected argument {token}") : CommandLineParser.UnknownOption("recv", token);
            }
        }

        return globals.Help ? new HelpCommand("recv") : new RecvCommand(timeout, string.IsNullOrEmpty(tag) ? null : tag);
    }

    /// <summary>register / unregister NAME|#id [--npid X].</summary>
    public static INefCommand ParseRegister(ArgCursor cursor, GlobalOptions globals, bool remove)
    {
        var verb = remove ? "unregister" : "register";
        var (name, npid, _) = NameAndNpid(cursor, globals, verb, "NAME|#id", timeoutFlag: false);
        if (globals.Help)
        {
            return new HelpCommand(verb);
        }

        var checkedName = name ?? throw new UsageException($"{verb}: missing NAME ({verb} NAME|#id [--npid NPID])");
        Check(verb, () => Names.ValidateServiceName(checkedName));
        return new RegisterCommand(checkedName, npid, remove);
    }

    public static INefCommand ParseWait(ArgCursor cursor, GlobalOptions globals)
    {
        var (name, _, timeout) = NameAndNpid(cursor, globals, "wait", "NAME", timeoutFlag: true);
        if (globals.Help)
        {
            return new HelpCommand("wait");
        }

        var checkedName = name ?? throw new UsageException("wait: missing NAME (wait NAME [--timeout 10s])");
        Check("wait", () => Names.ValidateServiceName(checkedName));
        return new WaitCommand(checkedName, timeout);
    }

    /// <summary>subscribe / unsubscribe TOPIC [--npid X].</summary>
    public static INefCommand ParseSubscribe(ArgCursor cursor, GlobalOptions globals, bool remove)
    {
        var verb = remove ? "unsubscribe" : "subscribe";
        var (topic, npid, _) = NameAndNpid(cursor, globals, verb, "TOPIC", timeoutFlag: false);
        if (globals.Help)
        {
            return new HelpCommand(verb);
        }

        var checkedTopic = topic ?? throw new UsageException($"{verb}: missing TOPIC ({verb} TOPIC [--npid NPID])");
        Check(verb, () => Names.ValidateServiceName(checkedTopic, "topic"));
        return new SubscribeCommand(checkedTopic, npid, remove);
    }

    public static INefCommand ParseNames(ArgCursor cursor, GlobalOptions globals)
    {
        var topics = false;
        string? prefix = null;
        foreach (var (token, positional) in CommandLineParser.Tokens(cursor, globals))
        {
            if (positional)
            {
                prefix = prefix is null ? token : throw new UsageException($"names: takes one PREFIX, got '{prefix}' and '{token}'");
            }
            else if (token == "--topics")
            {
                topics = true;
            }
            else
            {
                throw CommandLineParser.UnknownOption("names", token);
            }
        }

        return globals.Help ? new HelpCommand("names") : new NamesCommand(topics, prefix);
    }

    private static (string? Name, string? Npid, TimeSpan Timeout) NameAndNpid(ArgCursor cursor, GlobalOptions globals, string verb, string what, bool timeoutFlag)
    {
        string? name = null, npid = null;
        var timeout = DefaultTimeout;
        foreach (var (token, positional) in CommandLineParser.Tokens(cursor, globals))
        {
            if (positional)
            {
                name = name is null ? token : throw new UsageException($"{verb}: takes one {what}, got '{name}' and '{token}'");
                continue;
            }

            var (flag, inline) = ArgCursor.Split(token);
            if (flag == "--npid" && !timeoutFlag)
            {
                var value = cursor.TakeValue(flag, inline);
                npid = Npid.IsWellFormed(value) ? value : throw new UsageException($"{verb}: --npid '{value}' is not an NPID");
            }
            else if (flag == "--timeout" && timeoutFlag)
            {
                timeout = Durations.Parse(cursor.TakeValue(flag, inline), "--timeout");
            }
            else
            {
                throw CommandLineParser.UnknownOption(verb, token);
            }
        }

        return (name, npid, timeout);
    }

    /// <summary>Runs a shared rule; its bad_request becomes a usage error of <paramref name="verb"/>.</summary>
    private static void Check(string verb, Action rule)
    {
        try
        {
            rule();
        }
        catch (NefeleException e)
        {
            throw new UsageException($"{verb}: {e.Message}");
        }
    }

    private static string Tag(string verb, string tag)
    {
        Check(verb, () => Names.ValidateMessageTag(tag));
        return tag;
    }
}
