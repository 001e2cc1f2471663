using System.Globalization;

namespace Nefele.Validation;

/// <summary>
/// The one grammar of quantities, shared by nef's flags, cspawn files and hostd's flags
/// (Kubernetes' quantity suffixes). Memory: plain bytes, or a number with Ki Mi Gi Ti (powers
/// of 2: "64Mi" is 2^26) or K (also k) M G T (powers of 10: "64M" is 64·10^6). CPU: "250m"
/// (millicores) or "1", "1.5" (cores). Signs, exponents, spaces and other suffixes ("MB", "MiB")
/// are refused, so one spelling never means two sizes.
/// </summary>
public static class Units
{
    private const long Ki = 1024;

    private static readonly (string Suffix, long Factor)[] MemorySuffixes =
    [
        ("Ki", Ki), ("Mi", Ki * Ki), ("Gi", Ki * Ki * Ki), ("Ti", Ki * Ki * Ki * Ki),
        ("k", 1000), ("K", 1000), ("M", 1_000_000), ("G", 1_000_000_000), ("T", 1_000_000_000_000),
    ];

    private static readonly (string Suffix, long Factor)[] BinaryUnits =
    [
        ("Ti", Ki * Ki * Ki * Ki), ("Gi", Ki * Ki * Ki), ("Mi", Ki * Ki), ("Ki", Ki),
    ];

    /// <summary>
    /// "250ms", "10s", "2m", "1h", or a bare number of seconds ("1.5") → a duration; negative or
    /// other units are refused. Query parameters (?timeout=10s) and the CLI's --timeout use it.
    /// </summary>
    /// <exception cref="FormatException">Not a duration; the message says what is allowed.</exception>
    public static TimeSpan ParseDuration(string text)
    {
        var i = 0;
        while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.'))
        {
            i++;
        }

        var unit = text[i..];
        if (i == 0 || !double.TryParse(text.AsSpan(0, i), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number)
            || unit is not ("" or "ms" or "s" or "m" or "h"))
        {
            throw new FormatException($"'{text}' is not a duration: use a number with ms, s, m or h (\"500ms\", \"10s\"), or a number of seconds");
        }

        var milliseconds = number * unit switch
        {
            "ms" => 1.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            _ => 1000.0,
        };
        if (milliseconds > MaxDurationMilliseconds)
        {
            throw new FormatException($"'{text}' is too long a duration: at most 24h");
        }

        return TimeSpan.FromMilliseconds(milliseconds);
    }

    /// <summary>The longest duration <see cref="ParseDuration"/> takes: a day, far past any wait a door allows.</summary>
    private const double MaxDurationMilliseconds = 24 * 3_600_000.0;

    /// <summary>"250m" (millicores), "1" or "1.5" (cores) → millicores.</summary>
    /// <exception cref="FormatException">Not a CPU amount; the message says what is allowed.</exception>
    public static long ParseCpu(string text)
    {
        if (text.EndsWith('m'))
        {
            var digits = text[..^1];
            if (IsPlainNumber(digits, allowPoint: false)
                && long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var millis))
            {
                return millis;
            }
        }
        else if (IsPlainNumber(text, allowPoint: true)
            && decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var cores))
        {
            var millis = cores * 1000;
            if (millis != decimal.Truncate(millis))
            {
                throw new FormatException($"'{text}' is finer than one millicore (1m = 0.001)");
            }

            if (millis <= long.MaxValue)
            {
                return (long)millis;
            }
        }

        throw new FormatException(text.StartsWith('-')
            ? $"'{text}' is negative"
            : $"'{text}' is not a CPU amount (use 250m for millicores, or 1, 1.5 for cores)");
    }

    /// <summary>"64Mi", "1Gi", "512M", "1G", "4Ki", "1048576" → bytes.</summary>
    /// <exception cref="FormatException">Not a memory amount; the message says what is allowed.</exception>
    public static long ParseBytes(string text)
    {
        var number = text;
        var factor = 1L;
        foreach (var (suffix, f) in MemorySuffixes)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal))
            {
                number = text[..^suffix.Length];
                factor = f;
                break;
            }
        }

        if (IsPlainNumber(number, allowPoint: true)
            && decimal.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value))
        {
            decimal bytes;
            try
            {
                bytes = value * factor;
            }
            catch (OverflowException)
            {
                bytes = decimal.MaxValue;
            }

            if (bytes != decimal.Truncate(bytes))
            {
                throw new FormatException($"'{text}' is not a whole number of bytes");
            }

            if (bytes <= long.MaxValue)
            {
                return (long)bytes;
            }

            throw new FormatException($"'{text}' is too large");
        }

        throw new FormatException(text.StartsWith('-')
            ? $"'{text}' is negative"
            : $"'{text}' is not a memory amount (use bytes, or a suffix: Ki Mi Gi Ti for powers of 2, K M G T for powers of 10)");
    }

    /// <summary>Requested CPU as ps shows it: "250m", or "-" for best effort.</summary>
    public static string FormatCpu(long millis) => millis <= 0 ? "-" : millis.ToString(CultureInfo.InvariantCulture) + "m";

    /// <summary>Bytes as ps shows them: "64Mi", "488.3Mi", "512", or "-" for none.</summary>
    public static string FormatBytes(long bytes)
    {
        if (bytes <= 0)
        {
            return "-";
        }

        foreach (var (suffix, factor) in BinaryUnits)
        {
            if (bytes >= factor)
            {
                return bytes % factor == 0
                    ? (bytes / factor).ToString(CultureInfo.InvariantCulture) + suffix
                    : ((double)bytes / factor).ToString("0.0", CultureInfo.InvariantCulture) + suffix;
            }
        }

        return bytes.ToString(CultureInfo.InvariantCulture);
    }

    // Digits with at most one '.', and at least one digit: rejects signs, exponents, spaces.
    private static bool IsPlainNumber(string text, bool allowPoint)
    {
        var digits = 0;
        var points = 0;
        foreach (var c in text)
        {
            if (char.IsAsciiDigit(c))
            {
                digits++;
            }
            else if (c == '.' && allowPoint)
            {
                points++;
            }
            else
            {
                return false;
            }
        }

        return digits > 0 && points <= 1;
    }
}
