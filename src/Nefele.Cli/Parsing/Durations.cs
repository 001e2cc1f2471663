using System.Globalization;

namespace Nefele.Cli.Parsing;

/// <summary>
/// The waits nef's messaging flags take (--timeout, --wait): a whole number with ms, s, m or h
/// ("500ms", "10s", "2m"), a bare number of seconds, or 0 (do not wait).
/// </summary>
internal static class Durations
{
    public static TimeSpan Parse(string text, string flag)
    {
        var (digits, scale) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 1L)
            : text.EndsWith('s') ? (text[..^1], 1000L)
            : text.EndsWith('m') ? (text[..^1], 60_000L)
            : text.EndsWith('h') ? (text[..^1], 3_600_000L)
            : (text, 1000L);
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > long.MaxValue / 1000 / scale)
        {
            throw new UsageException($"{flag}: '{text}' is not a duration (a whole number with ms, s, m or h, e.g. 10s or 500ms)");
        }

        return TimeSpan.FromMilliseconds(n * scale);
    }

    /// <summary>"10s", "500ms": how nef words a wait in its messages.</summary>
    public static string Format(TimeSpan span)
    {
        var ms = (long)Math.Ceiling(span.TotalMilliseconds);
        return ms % 1000 == 0 ? $"{ms / 1000}s" : $"{ms}ms";
    }
}
