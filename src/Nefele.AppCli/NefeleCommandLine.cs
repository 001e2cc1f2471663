using Nefele.Cli.Commands;
using Nefele.Cli.Parsing;
using Nefele.Images;

namespace Nefele.AppCli;

/// <summary>
/// nefele's grammar, git- and docker-like, over nef's commands and REST transport:
/// push, images, commit, start, stop, status, connect. Global options (--tenant, --api) as nef's.
/// </summary>
internal static class NefeleCommandLine
{
    public const string Usage = """
        usage: nefele [--tenant T] [--api URL[,URL...]] COMMAND ...

          push DIR|TARBALL NAME[:TAG] [--config FILE.json]
                                 upload a root filesystem (a directory is packed with tar) as an image
          images [--json]        list the tenant's images
          commit SOURCE NAME[:TAG]
                                 tag the image SOURCE runs from plus the changes its processes made
                                 in that image's development overlay (a node with --container-mode
                                 development) as NAME:TAG; SOURCE: an NPID, or APP (nefele start)
          start APP [--name N] [--no-handshake] [-- PROGRAM ARGS...]
                                 run an application: image APP (NAME[:TAG]) with its command (or
                                 PROGRAM), as a root process of the tenant under a durable
                                 supervisor named app.N (N: the image's name), restarted if it ends;
                                 --no-handshake for a static program (no shim)
          stop NAME              stop the application NAME and forget it
          status [--json]        the tenant's applications: NAME IMAGE PHASE NPID RESTARTS NODE
          connect APP [--shell PATH]
                                 open a shell (default /bin/sh) in the application's container, on
                                 the node its process runs on, attached to this terminal (nef
                                 attach); the shell is killed when you exit or detach (ctrl-p ctrl-q)

        Settings as nef's: NEFELE_API, NEFELE_TOKEN (or ~/.config/nefele/config), NEFELE_TENANT.
        """;

    public static Invocation Parse(IReadOnlyList<string> args)
    {
        var globals = new GlobalOptions();
        var cursor = new ArgCursor(args);
        while (!cursor.AtEnd && cursor.Peek().StartsWith('-') && cursor.Peek() != "--")
        {
            var token = cursor.Take();
            if (!globals.TryTake(token, cursor))
            {
                throw new UsageException($"unknown option {token} (nefele --help)");
            }
        }

        if (cursor.AtEnd || globals.Help)
        {
            return new Invocation(globals, new UsageCommand());
        }

        var verb = cursor.Take();
        INefCommand command = verb switch
        {
            "push" => ParsePush(cursor, globals),
            "images" => ImageCommandParser.ParseImages(cursor, globals),
            "commit" => ParseCommit(cursor, globals),
            "start" => ParseStart(cursor, globals),
            "stop" => new AppStopCommand(One(cursor, globals, "stop", "NAME")),
            "status" => ParseStatus(cursor, globals),
            "connect" => ParseConnect(cursor, globals),
            "help" => new UsageCommand(),
            _ => throw new UsageException($"unknown command '{verb}': push, images, commit, start, stop, status or connect (nefele --help)"),
        };
        return new Invocation(globals, globals.Help ? new UsageCommand() : command);
    }

    private static AppPushCommand ParsePush(ArgCursor cursor, GlobalOptions globals)
    {
        string? config = null;
        var operands = new List<string>();
        foreach (var (token, positional) in CommandLineParser.Tokens(cursor, globals))
        {
            var (flag, inline) = ArgCursor.Split(token);
            if (positional)
            {
                operands.Add(token);
            }
            else if (flag == "--config")
            {
                config = cursor.TakeValue(flag, inline);
            }
            else
            {
                throw new UsageException($"push: unknown option {token}");
            }
        }

        if (operands.Count != 2)
        {
            throw new UsageException("push: expected DIR|TARBALL NAME[:TAG]");
        }

        var image = ImageCommandParser.Reference(operands[1]);
        if (image.Digest is not null)
        {
            throw new UsageException($"push: {operands[1]}: push names a tag, not a digest");
        }

        return new AppPushCommand(operands[0], image, config);
    }

    private static AppCommitCommand ParseCommit(ArgCursor cursor, GlobalOptions globals)
    {
        var operands = new List<string>();
        foreach (var (token, positional) in CommandLineParser.Tokens(cursor, globals))
        {
            operands.Add(positional ? token : throw new UsageException($"commit: unknown option {token}"));
        }

        return operands.Count == 2
            ? new AppCommitCommand(operands[0], ImageCommandParser.Target("commit", operands[1]))
            : throw new UsageException("commit: expected SOURCE NAME[:TAG] (SOURCE: an NPID, or an application of nefele start)");
    }

    private static AppStartCommand ParseStart(ArgCursor cursor, GlobalOptions globals)
    {
        string? name = null;
        var noHandshake = false;
        var operands = new List<string>();
        IReadOnlyList<string> program = [];
        while (!cursor.AtEnd)
        {
            var token = cursor.Take();
            var (flag, inline) = ArgCursor.Split(token);
            if (token == "--")
            {
                program = cursor.TakeRest();
                break;
            }

            if (flag == "--name")
            {
                name = cursor.TakeValue(flag, inline);
            }
            else if (token == "--no-handshake")
            {
                noHandshake = true;
            }
            else if (!token.StartsWith('-'))
            {
                operands.Add(token);
            }
            else if (!globals.TryTake(token, cursor))
            {
                throw new UsageException($"start: unknown option {token}");
            }
        }

        if (operands.Count != 1)
        {
            throw new UsageException("start: expected APP (an image, NAME[:TAG]) [--name N] [-- PROGRAM ARGS...]");
        }

        var image = ImageCommandParser.Reference(operands[0]);
        name ??= image.Name;
        if (!Nefele.Validation.Names.IsProcessName(AppNames.Supervisor(name)))
        {
            throw new UsageException($"start: application name '{name}' is invalid: use 1-60 letters, digits, '.', '_' or '-', starting with a letter or digit");
        }

        return new AppStartCommand(name, image, program, noHandshake);
    }

    private static AppConnectCommand ParseConnect(ArgCursor cursor, GlobalOptions globals)
    {
        var shell = AppConnectCommand.DefaultShell;
        string? app = null;
        foreach (var (token, positional) in CommandLineParser.Tokens(cursor, globals))
        {
            var (flag, inline) = ArgCursor.Split(token);
            if (positional)
            {
                app = app is null ? token : throw new UsageException("connect: takes one APP");
            }
            else if (flag == "--shell")
            {
                shell = cursor.TakeValue(flag, inline);
                if (!shell.StartsWith('/'))
                {
                    throw new UsageException($"connect: --shell {shell}: give the shell's absolute path in the image (e.g. /bin/bash)");
                }
            }
            else
            {
                throw new UsageException($"connect: unknown option {token}");
            }
        }

        return app is null ? throw new UsageException("connect: expected APP [--shell PATH]") : new AppConnectCommand(app, shell);
    }

    private static AppStatusCommand ParseStatus(ArgCursor cursor, GlobalOptions globals)
    {
        var json = false;
        foreach (var (token, positional) in CommandLineParser.Tokens(cursor, globals))
        {
            if (positional || token != "--json")
            {
                throw new UsageException($"status: unexpected {token}");
            }

            json = true;
        }

        return new AppStatusCommand(json);
    }

    private static string One(ArgCursor cursor, GlobalOptions globals, string verb, string what)
    {
        var operands = CommandLineParser.Tokens(cursor, globals).ToList();
        return operands is [(var only, true)] ? only : throw new UsageException($"{verb}: expected {what}");
    }
}
