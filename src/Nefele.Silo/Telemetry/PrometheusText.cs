using System.Globalization;
using System.Text;

namespace Nefele.Silo.Telemetry;

/// <summary>
/// The Prometheus text exposition format 0.0.4: names, labels, numbers and the lines that
/// carry them, following the OpenTelemetry → Prometheus naming conventions.
/// </summary>
internal static class PrometheusText
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Full-word unit names for UCUM units (OpenTelemetry's Prometheus compatibility table).</summary>
    private static readonly Dictionary<string, string> Units = new(StringComparer.Ordinal)
    {
        ["d"] = "days",
        ["h"] = "hours",
        ["min"] = "minutes",
        ["s"] = "seconds",
        ["ms"] = "milliseconds",
        ["us"] = "microseconds",
        ["ns"] = "nanoseconds",
        ["By"] = "bytes",
        ["KiBy"] = "kibibytes",
        ["MiBy"] = "mebibytes",
        ["GiBy"] = "gibibytes",
        ["TiBy"] = "tibibytes",
        ["KBy"] = "kilobytes",
        ["MBy"] = "megabytes",
        ["GBy"] = "gigabytes",
        ["TBy"] = "terabytes",
        ["m"] = "meters",
        ["V"] = "volts",
        ["A"] = "amperes",
        ["J"] = "joules",
        ["W"] = "watts",
        ["g"] = "grams",
        ["Cel"] = "celsius",
        ["Hz"] = "hertz",
        ["%"] = "percent",
    };

    /// <summary>Singular names for the denominator of a rate unit ("By/s" → "bytes_per_second").</summary>
    private static readonly Dictionary<string, string> PerUnits = new(StringComparer.Ordinal)
    {
        ["s"] = "second",
        ["m"] = "minute",
        ["h"] = "hour",
        ["d"] = "day",
        ["w"] = "week",
        ["mo"] = "month",
        ["y"] = "year",
    };

    /// <summary>
    /// The Prometheus name of an instrument: invalid characters become underscores, the unit is
    /// appended in words unless the name already ends with it, and counters end in <c>_total</c>.
    /// Histograms get their <c>_bucket</c>, <c>_sum</c> and <c>_count</c> suffixes when written.
    /// </summary>
    public static string MetricName(string instrument, string? unit, PrometheusType type)
    {
        var name = Sanitize(instrument, allowColon: true);
        if (type == PrometheusType.Counter && name.EndsWith("_total", StringComparison.Ordinal))
        {
            name = name[..^"_total".Length];
        }

        var suffix = UnitSuffix(unit, type);
        if (suffix.Length > 0 && !name.EndsWith("_" + suffix, StringComparison.Ordinal))
        {
            name = name + "_" + suffix;
        }

        return type == PrometheusType.Counter ? name + "_total" : name;
    }

    /// <summary>The unit in words ("s" → "seconds", "{process}" → none, "1" → "ratio" for a gauge).</summary>
    public static string UnitSuffix(string? unit, PrometheusType type)
    {
        if (string.IsNullOrWhiteSpace(unit))
        {
            return "";
        }

        // Annotations in braces ("{process}", "By{cached}") carry no unit.
        var text = new StringBuilder(unit.Length);
        var depth = 0;
        foreach (var c in unit)
        {
            if (c == '{')
            {
                depth++;
            }
            else if (c == '}' && depth > 0)
            {
                depth--;
            }
            else if (depth == 0)
            {
                text.Append(c);
            }
        }

        var bare = text.ToString().Trim();
        if (bare.Length == 0)
        {
            return "";
        }

        if (bare == "1")
        {
            return type == PrometheusType.Gauge ? "ratio" : "";
        }

        var slash = bare.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0 && slash < bare.Length - 1)
        {
            var numerator = bare[..slash];
            var denominator = bare[(slash + 1)..];
            var per = PerUnits.TryGetValue(denominator, out var p) ? p : Units.TryGetValue(denominator, out var u) ? u : denominator;
            var of = numerator == "1" ? "" : (Units.TryGetValue(numerator, out var n) ? n : numerator) + "_";
            return Trim(Sanitize(of + "per_" + per, allowColon: false));
        }

        return Trim(Sanitize(Units.TryGetValue(bare, out var word) ? word : bare, allowColon: false));
    }

    /// <summary>
    /// A label name: invalid characters become underscores, a leading digit is prefixed with one,
    /// and the names Prometheus reserves (a leading "__") are prefixed with "key".
    /// </summary>
    public static string LabelName(string key)
    {
        if (key.Length == 0)
        {
            return "key_";
        }

        var name = Sanitize(key, allowColon: false);
        return name.StartsWith("__", StringComparison.Ordinal) ? "key" + name : name;
    }

    /// <summary>Label value escaping: backslash, double quote and line feed.</summary>
    public static void AppendLabelValue(StringBuilder text, string value) => AppendEscaped(text, value, escapeQuote: true);

    /// <summary>The exposition format's escaping: backslash and line feed, and in label values the double quote.</summary>
    private static void AppendEscaped(StringBuilder text, string value, bool escapeQuote)
    {
        foreach (var c in value)
        {
            switch (c)
            {
                case '\\':
                    text.Append(@"\\");
                    break;
                case '"' when escapeQuote:
                    text.Append("\\\"");
                    break;
                case '\n':
                    text.Append(@"\n");
                    break;
                default:
                    text.Append(c);
                    break;
            }
        }
    }

    /// <summary>
    /// The rendered label set of a measurement's tags (<c>a="x",b="y"</c>, sorted by name; empty
    /// without tags). Tags whose names collide once sanitized are joined with ';' (by original key).
    /// </summary>
    public static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags, string? reserved = null)
    {
        if (tags.IsEmpty)
        {
            return "";
        }

        var pairs = new (string Name, string Key, string Value)[tags.Length];
        for (var i = 0; i < tags.Length; i++)
        {
            var name = LabelName(tags[i].Key);
            if (name == reserved)
            {
                name = "tag_" + name;
            }

            pairs[i] = (name, tags[i].Key, LabelValue(tags[i].Value));
        }

        Array.Sort(pairs, static (a, b) =>
        {
            var byName = string.CompareOrdinal(a.Name, b.Name);
            return byName != 0 ? byName : string.CompareOrdinal(a.Key, b.Key);
        });

        var text = new StringBuilder();
        for (var i = 0; i < pairs.Length; i++)
        {
            if (i > 0 && pairs[i].Name == pairs[i - 1].Name)
            {
                text.Length--; // reopen the previous value
                text.Append(';');
            }
            else
            {
                if (i > 0)
                {
                    text.Append(',');
                }

                text.Append(pairs[i].Name).Append("=\"");
            }

            AppendLabelValue(text, pairs[i].Value);
            text.Append('"');
        }

        return text.ToString();
    }

    public static string LabelValue(object? value) => value switch
    {
        null => "",
        string s => s,
        bool b => b ? "true" : "false",
        double d => Number(d),
        float f => Number(f),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>A sample value or bound: shortest round-trip decimal, or +Inf, -Inf, NaN.</summary>
    public static string Number(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf"
        : double.IsNegativeInfinity(value) ? "-Inf"
        : double.IsNaN(value) ? "NaN"
        : value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary># HELP and # TYPE lines of a metric family.</summary>
    public static void AppendHeader(StringBuilder text, string name, string help, PrometheusType type)
    {
        text.Append("# HELP ").Append(name).Append(' ');
        AppendEscaped(text, help, escapeQuote: false);
        text.Append('\n');
        text.Append("# TYPE ").Append(name).Append(' ').Append(type switch
        {
            PrometheusType.Counter => "counter",
            PrometheusType.Histogram => "histogram",
            _ => "gauge",
        }).Append('\n');
    }

    /// <summary>One sample line; <paramref name="labels"/> is already rendered, <paramref name="extra"/> is appended to it.</summary>
    public static void AppendSample(StringBuilder text, string name, string labels, string value, string? extra = null)
    {
        text.Append(name);
        if (labels.Length > 0 || extra is not null)
        {
            text.Append('{').Append(labels);
            if (extra is not null)
            {
                text.Append(labels.Length > 0 ? "," : "").Append(extra);
            }

            text.Append('}');
        }

        text.Append(' ').Append(value).Append('\n');
    }

    private static string Sanitize(string s, bool allowColon)
    {
        var text = new StringBuilder(s.Length + 1);
        if (s.Length > 0 && char.IsAsciiDigit(s[0]))
        {
            text.Append('_');
        }

        foreach (var c in s)
        {
            var ok = char.IsAsciiLetterOrDigit(c) || c == '_' || (allowColon && c == ':');
            var next = ok ? c : '_';

            // Runs of replaced characters collapse into one underscore.
            if (!(next == '_' && !ok && text.Length > 0 && text[^1] == '_'))
            {
                text.Append(next);
            }
        }

        return text.Length == 0 ? "_" : text.ToString();
    }

    private static string Trim(string s) => s.Trim('_');
}

internal enum PrometheusType
{
    Counter,
    Gauge,
    Histogram,
}
