namespace Nefele.Silo.Api;

/// <summary>Where a run of UTF-8 bytes stops being whole characters (a chunk of output may end inside one).</summary>
internal static class Utf8Boundary
{
    /// <summary>
    /// The length of the longest prefix that does not end inside a character: all of
    /// <paramref name="bytes"/> unless its last one to three bytes start a sequence they do not finish.
    /// </summary>
    public static int CompletePrefix(ReadOnlySpan<byte> bytes)
    {
        for (var back = 1; back <= Math.Min(3, bytes.Length); back++)
        {
            var b = bytes[^back];
            if ((b & 0xC0) == 0x80)
            {
                continue; // a continuation byte: its lead is further back
            }

            var length = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
            return length > back ? bytes.Length - back : bytes.Length;
        }

        return bytes.Length;
    }
}
