namespace Nefele.Cli.Terminal;

/// <summary>
/// The key sequence that detaches nef attach (docker's format: "ctrl-p,ctrl-q"; each key is ctrl-X
/// for X in a-z, @, [, \, ], ^, _, or one printable character). Fed the typed bytes, it holds back
/// a partial match and passes everything else through, so the keys reach the process unless the
/// whole sequence is typed.
/// </summary>
internal sealed class DetachKeys
{
    /// <summary>ctrl-p then ctrl-q, as docker attach.</summary>
    public const string Default = "ctrl-p,ctrl-q";

    private readonly byte[] sequence;
    private int matched;

    private DetachKeys(byte[] sequence) => this.sequence = sequence;

    /// <summary>The sequence's bytes.</summary>
    public IReadOnlyList<byte> Sequence => sequence;

    /// <summary>Parses "ctrl-p,ctrl-q"; a FormatException names what is wrong.</summary>
    public static DetachKeys Parse(string text)
    {
        var keys = new List<byte>();
        foreach (var part in text.Split(','))
        {
            var key = part.Trim();
            if (key.Length == 1 && key[0] is > ' ' and < '\x7f')
            {
                keys.Add((byte)key[0]);
            }
            else if (key.StartsWith("ctrl-", StringComparison.OrdinalIgnoreCase) && key.Length == 6
                && char.ToUpperInvariant(key[5]) is var c && c is >= '@' and <= '_')
            {
                keys.Add((byte)(c - '@'));
            }
            else
            {
                throw new FormatException($"'{key}' is not a detach key (ctrl-a..ctrl-z, ctrl-@, ctrl-[, ctrl-\\, ctrl-], ctrl-^, ctrl-_, or one printable character; keys separated by commas)");
            }
        }

        return new DetachKeys([.. keys]);
    }

    /// <summary>
    /// Takes typed bytes; writes to <paramref name="forward"/> what goes to the process and returns
    /// true when the detach sequence is complete (the bytes after it are dropped).
    /// </summary>
    public bool Feed(ReadOnlySpan<byte> typed, List<byte> forward)
    {
        foreach (var b in typed)
        {
            if (b == sequence[matched])
            {
                if (++matched == sequence.Length)
                {
                    return true;
                }

                continue;
            }

            // The held keys were not the sequence after all: they go through, and this one starts again.
            for (var i = 0; i < matched; i++)
            {
                forward.Add(sequence[i]);
            }

            matched = 0;
            if (b == sequence[0])
            {
                matched = sequence.Length == 1 ? 0 : 1;
                if (sequence.Length == 1)
                {
                    return true;
                }

                continue;
            }

            forward.Add(b);
        }

        return false;
    }
}
