using System.Globalization;
using System.Text.RegularExpressions;
using Nefele.Client;

namespace Nefele.Validation;

/// <summary>The grammar of log filters, shared by the REST query, nef's flags and the SDK.</summary>
public static partial class LogFilters
{
    private const long NanosPerTick = 100;

    /// <summary>The longest "ago" a time filter takes: 400 days, past any retention.</summary>
    private static readonly TimeSpan MaxAgo = TimeSpan.FromDays(400);

    /// <summary>"stdout" or "stderr" → that stream; null or empty → both.</summary>
    /// <exception cref="FormatException">Another word; the message says what is allowed.</exception>
    public static LogStream ParseStream(string? text) => text switch
    {
        null or "" => LogStream.All,
        "stdout" => LogStream.Stdout,
        "stderr" => LogStream.Stderr,
        _ => throw new FormatException($"stream '{text}' is not one of stdout, stderr"),
    };

    /// <summary>The stream's name as <see cref="ParseStream"/> reads it ("stdout", "stderr"; "" for both).</summary>
    public static string Name(LogStream stream) => stream switch
    {
        LogStream.Stdout => "stdout",
        LogStream.Stderr => "stderr",
        _ => "",
    };

    /// <summary>
    /// A since/until bound: an RFC 3339 time ("2026-12-05T20:47:50Z", "2026-12-05T21:47:50.123456789+01:00",
    /// up to nanoseconds; digits past 100 ns are dropped) or a duration before <paramref name="now"/>:
    /// a whole or decimal number with s, m, h or d ("30s", "5m", "1.5h", "2d"), at most 400 days.
    /// </summary>
    /// <param name="text">The bound as written.</param>
    /// <param name="now">What a duration counts back from.</param>
    /// <returns>The time it names.</returns>
    /// <exception cref="FormatException">Neither form; the message says what is allowed.</exception>
    public static DateTimeOffset ParseTime(string text, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ago = AgoPattern().Match(text);
        if (ago.Success)
        {
            var number = double.Parse(ago.Groups[1].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
            var span = ago.Groups[2].Value switch
            {
                "s" => TimeSpan.FromSeconds(number),
                "m" => TimeSpan.FromMinutes(number),
                "h" => TimeSpan.FromHours(number),
                _ => TimeSpan.FromDays(number),
            };
            return span <= MaxAgo
                ? now - span
                : throw new FormatException($"'{text}' is too long ago: at most 400d");
        }

        var time = TimePattern().Match(text);
        if (time.Success && DateTimeOffset.TryParseExact((time.Groups[1].Value + time.Groups[3].Value).ToUpperInvariant(), ["yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss'Z'"],
                CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var whole))
        {
            var fraction = time.Groups[2].Value;
            var ticks = fraction.Length == 0 ? 0 : long.Parse(fraction.PadRight(7, '0')[..7], CultureInfo.InvariantCulture);
            return whole.AddTicks(ticks);
        }

        throw new FormatException($"'{Names.Shorten(text)}' is not a time: use RFC 3339 (2026-12-05T20:47:50Z) or a duration ago with s, m, h or d (30s, 5m, 2h)");
    }

    /// <summary>The time in nanoseconds since the Unix epoch, as log records carry it.</summary>
    public static long ToUnixNano(DateTimeOffset time) => (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * NanosPerTick;

    /// <summary>A record's time as RFC 3339 in UTC with nine fraction digits ("2026-12-05T20:47:50.123456789Z"), as the REST API and nef print it.</summary>
    public static string FormatTime(long unixNano)
    {
        var seconds = Math.DivRem(unixNano, 1_000_000_000L, out var nanos);
        if (nanos < 0)
        {
            seconds--;
            nanos += 1_000_000_000L;
        }

        var whole = DateTimeOffset.FromUnixTimeSeconds(seconds);
        return whole.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture) + "." + nanos.ToString("D9", CultureInfo.InvariantCulture) + "Z";
    }

    [GeneratedRegex(@"^([0-9]+(?:\.[0-9]+)?)(s|m|h|d)$", RegexOptions.CultureInvariant)]
    private static partial Regex AgoPattern();

    [GeneratedRegex(@"^([0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]{1,9}))?([Zz]|[+-][0-9]{2}:[0-9]{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex TimePattern();
}
