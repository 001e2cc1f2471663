using Nefele.Client;

namespace Nefele.Processes;

/// <summary>
/// NPIDs: cluster-wide process ids. 13 characters of lowercase Crockford base32 encoding
/// 64 bits — 42 bits of milliseconds since 2025-01-01, 10 bits of generator id, 12 bits of
/// sequence — so they are short, printable, shell-safe, ordered by creation, and never
/// reused while generator ids are unique and clocks do not run backwards.
/// </summary>
public static class Npid
{
    public const int Length = 13;
    private const string Alphabet = "0123456789abcdefghjkmnpqrstvwxyz";

    public static string Encode(ulong value)
    {
        Span<char> chars = stackalloc char[Length];
        for (var i = Length - 1; i >= 0; i--)
        {
            chars[i] = Alphabet[(int)(value & 31)];
            value >>= 5;
        }

        return new string(chars);
    }

    /// <summary>True when <paramref name="text"/> has the shape of an NPID (it may still name no process).</summary>
    public static bool IsWellFormed(string? text)
    {
        if (text is null || text.Length != Length)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!Alphabet.Contains(c, StringComparison.Ordinal))
            {
                return false;
            }
        }

        // The first character carries only the top 4 bits of 64.
        return Alphabet.IndexOf(text[0], StringComparison.Ordinal) < 16;
    }

    /// <summary>The 64 bits <paramref name="text"/> encodes, when it is well formed.</summary>
    public static bool TryDecode(string? text, out ulong value)
    {
        value = 0;
        if (!IsWellFormed(text))
        {
            return false;
        }

        foreach (var c in text!)
        {
            value = (value << 5) | (uint)Alphabet.IndexOf(c, StringComparison.Ordinal);
        }

        return true;
    }

    /// <summary>The generator id (10 bits) of an NPID's value.</summary>
    public static int GeneratorOf(ulong value) => (int)((value >> 12) & 0x3ff);

    internal static ulong Compose(long milliseconds, int generator, int sequence) =>
        ((ulong)milliseconds << 22) | ((ulong)(generator & 0x3ff) << 12) | (uint)(sequence & 0xfff);
}
