using Nefele.Cli.Commands;
using Nefele.Images;
using Nefele.Processes;

namespace Nefele.Cli.Parsing;

/// <summary>The grammar of images and image push|rm|ls (global options such as --tenant may appear among their flags).</summary>
internal static class ImageCommandParser
{
    public static INefCommand ParseImages(ArgCursor cursor, GlobalOptions globals)
    {
        var json = false;
        foreach (var (token, positional) in CommandLineParser.Tokens(cursor, globals))
        {
            if (positional)
            {
                throw new UsageException($"images: unexpected argument {token}");
            }

            if (token != "--json")
            {
                throw CommandLineParser.UnknownOption("images", token);
            }

            json = true;
        }

        return globals.Help ? new HelpCommand("images") : new ImagesCommand(json);
    }

    public static INefCommand ParseImage(ArgCursor cursor, GlobalOptions globals)
    {
        var verb = cursor.AtEnd ? null : cursor.Take();
        if (verb is "-h" or "--help")
        {
            globals.TryTake(verb, cursor);
            verb = null;
        }

        if (verb is not ("push" or "commit" or "rm" or "ls" or "default"))
        {
            return globals.Help ? new HelpCommand("image") : throw new UsageException(
                $"image: expected push, commit, rm, ls or default{(verb is null ? string.Empty : $", not '{verb}'")} (image push TARBALL NAME[:TAG] | commit NPID NAME[:TAG] | rm NAME[:TAG]... | ls | default NAME[:TAG]|--none)");
        }

        string? config = null, digest = null;
        var json = false;
        var none = false;
        var operands = new List<string>();
        foreach (var (token, positional) in CommandLineParser.Tokens(cursor, globals))
        {
            var (flag, inline) = ArgCursor.Split(token);
            switch (positional ? null : flag)
            {
                case null:
                    operands.Add(token);
                    break;
                case "--config" when verb == "push":
                    config = cursor.TakeValue(flag, inline);
                    break;
                case "--digest" when verb == "push":
                    digest = cursor.TakeValue(flag, inline);
                    if (!Digests.IsSha256(digest))
                    {
                        throw new UsageException($"--digest: '{digest}' is not sha256: and 64 lowercase hex digits");
                    }

                    break;
                case "--json" when inline is null && verb == "ls":
                    json = true;
                    break;
                case "--none" when inline is null && verb == "default":
                    none = true;
                    break;
                default:
                    throw CommandLineParser.UnknownOption("image", token);
            }
        }

        if (globals.Help)
        {
            return new HelpCommand("image");
        }

        switch (verb)
        {
            case "default":
                return (operands.Count, none) switch
                {
                    (0, true) => new ImageDefaultCommand(null),
                    (1, false) => new ImageDefaultCommand(Reference(operands[0])),
                    _ => throw new UsageException("image default: expected NAME[:TAG], or --none to clear it"),
                };
            case "commit":
                if (operands.Count != 2)
                {
                    throw new UsageException($"image commit: expected NPID NAME[:TAG], got {(operands.Count == 0 ? "nothing" : string.Join(' ', operands))}");
                }

                return new ImageCommitCommand(
                    Npid.IsWellFormed(operands[0]) ? operands[0] : throw new UsageException($"image commit: '{operands[0]}' is not an NPID"),
                    Target("image commit", operands[1]));
            case "ls":
                return operands.Count == 0 ? new ImagesCommand(json) : throw new UsageException($"image ls: unexpected argument {operands[0]}");
            case "push":
                if (operands.Count != 2)
                {
                    throw new UsageException($"image push: expected TARBALL NAME[:TAG], got {(operands.Count == 0 ? "nothing" : string.Join(' ', operands))}");
                }

                var pushed = Reference(operands[1]);
                if (pushed.Digest is not null)
                {
                    throw new UsageException($"image push: {operands[1]}: push names a tag, not a digest");
                }

                return new ImagePushCommand(operands[0], pushed.Name, pushed.Tag, config, digest);
            default:
                return operands.Count > 0
                    ? new ImageRmCommand([.. operands.Select(Reference)])
                    : throw new UsageException("image rm: expected NAME[:TAG]...");
        }
    }

    /// <summary>A tag to write: NAME[:TAG], not pinned to a digest.</summary>
    public static ImageReference Target(string verb, string text)
    {
        var reference = Reference(text);
        return reference.Digest is null ? reference : throw new UsageException($"{verb}: {text}: names a tag to set, not a digest");
    }

    /// <summary>NAME[:TAG], checked with the shared rule.</summary>
    public static ImageReference Reference(string text) =>
        ImageReference.TryParse(text, out var reference)
            ? reference
            : throw new UsageException($"image '{text}' is invalid: use {ImageReference.Rule}");
}
