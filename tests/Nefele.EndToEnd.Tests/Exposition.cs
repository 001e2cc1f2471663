using System.Globalization;
using System.Text;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>
/// A strict reader of the Prometheus text exposition format 0.0.4, written from the format's
/// specification (prometheus.io, "Exposition formats", text-based format), independently of
/// the node's exporter: tokens separated by blanks; <c># HELP</c> and <c># TYPE</c> at most once
/// per name, TYPE before the first sample; a family's lines grouped together; samples
/// <c>name{label="value",...} value [timestamp]</c> with only <c>\\</c>, <c>\"</c> and <c>\n</c> escaped
/// in label values; each series once; a histogram's buckets cumulative in increasing
/// <c>le</c> order, ending with <c>le="+Inf"</c> equal to its <c>_count</c>. Anything else throws
/// <see cref="FormatException"/> naming the line.
/// </summary>
public sealed class Exposition
{
    private static readonly string[] Types = ["counter", "gauge", "histogram", "summary", "untyped"];

    private Exposition(Dictionary<string, string> types, List<Sample> samples)
    {
        TypeOf = types;
        Samples = samples;
    }

    /// <summary>The declared type of each family (TYPE lines).</summary>
    public IReadOnlyDictionary<string, string> TypeOf { get; }

    public IReadOnlyList<Sample> Samples { get; }

    /// <summary>
    /// The value of the one series named <paramref name="name"/> that carries <paramref name="labels"/>
    /// (it may carry others); 0 when there is none, as a series appears only once first recorded.
    /// </summary>
    public double ValueOrZero(string name, params (string Name, string Value)[] labels)
    {
        var match = Matching(name, labels);
        Assert.True(match.Count <= 1, $"{name} with {string.Join(',', labels)}: {match.Count} series");
        return match.Count == 0 ? 0 : match[0].Value;
    }

    /// <summary>The value of the one series named <paramref name="name"/> that carries <paramref name="labels"/>.</summary>
    public double Value(string name, params (string Name, string Value)[] labels)
    {
        var match = Matching(name, labels);
        Assert.True(match.Count == 1, $"{name} with {string.Join(',', labels)}: {match.Count} series among {string.Join(", ", Samples.Select(s => s.Name).Distinct())}");
        return match[0].Value;
    }

    private List<Sample> Matching(string name, (string Name, string Value)[] labels) =>
        Samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Name, out var v) && v == l.Value)).ToList();

    public static Exposition Parse(string text)
    {
        if (text.Length > 0 && !text.EndsWith('\n'))
        {
            throw new FormatException("the last line does not end with a line feed");
        }

        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var helped = new HashSet<string>(StringComparer.Ordinal);
        var finished = new HashSet<string>(StringComparer.Ordinal); // families whose group of lines has ended
        var series = new HashSet<string>(StringComparer.Ordinal);
        var samples = new List<Sample>();
        string? current = null;
        var lines = text.Split('\n');
        for (var n = 0; n < lines.Length - 1; n++)
        {
            var line = lines[n];
            try
            {
                var c = new Cursor(line);
                c.SkipBlanks();
                if (c.AtEnd)
                {
                    continue;
                }

                string family;
                if (c.Peek == '#')
                {
                    c.Next();
                    c.SkipBlanks();
                    var keyword = c.Token();
                    if (keyword is not ("HELP" or "TYPE"))
                    {
                        continue; // an ordinary comment
                    }

                    c.RequireBlank();
                    family = c.MetricName();
                    if (keyword == "HELP")
                    {
                        if (!c.AtEnd)
                        {
                            c.RequireBlank();
                        }

                        Unescape(c.Rest(), allowQuote: false);
                        if (!helped.Add(family))
                        {
                            throw new FormatException($"a second HELP for {family}");
                        }
                    }
                    else
                    {
                        c.RequireBlank();
                        var type = c.Token();
                        c.SkipBlanks();
                        if (!c.AtEnd || !Types.Contains(type))
                        {
                            throw new FormatException($"TYPE {family} '{type}' is not one of {string.Join(", ", Types)}");
                        }

                        if (samples.Any(s => FamilyOf(s.Name, types) == family) || !types.TryAdd(family, type))
                        {
                            throw new FormatException($"TYPE {family} after its samples or twice");
                        }
                    }
                }
                else
                {
                    var sample = ReadSample(c);
                    if (!series.Add(sample.Name + "{" + string.Join(',', sample.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => l.Key + "=" + l.Value)) + "}"))
                    {
                        throw new FormatException($"the series {sample.Name} with these labels appears twice");
                    }

                    family = FamilyOf(sample.Name, types);
                    samples.Add(sample);
                }

                if (family != current)
                {
                    if (current is not null)
                    {
                        finished.Add(current);
                    }

                    if (finished.Contains(family))
                    {
                        throw new FormatException($"the lines of {family} are not grouped together");
                    }

                    current = family;
                }
            }
            catch (FormatException e)
            {
                throw new FormatException($"line {n + 1} \"{line}\": {e.Message}", e);
            }
        }

        CheckHistograms(types, samples);
        CheckCounters(types, samples);
        return new Exposition(types, samples);
    }

    private static Sample ReadSample(Cursor c)
    {
        var name = c.MetricName();
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        var afterName = c.Position;
        c.SkipBlanks();
        if (c.AtEnd || c.Peek != '{')
        {
            if (c.Position == afterName)
            {
                throw new FormatException($"expected a blank or {{ at column {c.Position + 1}");
            }
        }
        else
        {
            c.Next();
            c.SkipBlanks();
            while (c.Peek != '}')
            {
                var label = c.LabelName();
                if (label.StartsWith("__", StringComparison.Ordinal))
                {
                    throw new FormatException($"label {label} is reserved");
                }

                c.SkipBlanks();
                c.Expect('=');
                c.SkipBlanks();
                var value = c.Quoted();
                if (!labels.TryAdd(label, value))
                {
                    throw new FormatException($"label {label} twice");
                }

                c.SkipBlanks();
                if (c.Peek == ',')
                {
                    c.Next();
                    c.SkipBlanks();
                }
                else if (c.Peek != '}')
                {
                    throw new FormatException($"expected , or }} at column {c.Position + 1}");
                }
            }

            c.Next();
            c.RequireBlank();
        }

        var number = ParseFloat(c.Token());
        c.SkipBlanks();
        if (!c.AtEnd)
        {
            var timestamp = c.Token();
            if (!long.TryParse(timestamp, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
            {
                throw new FormatException($"timestamp '{timestamp}' is not an integer");
            }

            c.SkipBlanks();
            if (!c.AtEnd)
            {
                throw new FormatException($"unexpected text after the timestamp: '{c.Rest()}'");
            }
        }

        return new Sample(name, labels, number);
    }

    /// <summary>A float as Go's strconv.ParseFloat reads it, which the format refers to.</summary>
    private static double ParseFloat(string token)
    {
        switch (token)
        {
            case "NaN":
                return double.NaN;
            case "+Inf" or "Inf":
                return double.PositiveInfinity;
            case "-Inf":
                return double.NegativeInfinity;
        }

        if (token.Length == 0 || token.Any(ch => !(char.IsAsciiDigit(ch) || ch is '.' or 'e' or 'E' or '+' or '-'))
            || !double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            throw new FormatException($"value '{token}' is not a float");
        }

        return value;
    }

    private static string FamilyOf(string sample, Dictionary<string, string> types)
    {
        if (types.ContainsKey(sample))
        {
            return sample;
        }

        foreach (var (suffix, kinds) in new[] { ("_bucket", new[] { "histogram" }), ("_sum", ["histogram", "summary"]), ("_count", ["histogram", "summary"]) })
        {
            if (sample.EndsWith(suffix, StringComparison.Ordinal)
                && types.TryGetValue(sample[..^suffix.Length], out var type) && kinds.Contains(type))
            {
                return sample[..^suffix.Length];
            }
        }

        return sample; // untyped
    }

    private static void CheckHistograms(Dictionary<string, string> types, List<Sample> samples)
    {
        foreach (var histogram in types.Where(t => t.Value == "histogram").Select(t => t.Key))
        {
            foreach (var group in samples.Where(s => s.Name == histogram + "_bucket").GroupBy(s => Key(s.Labels, without: "le")))
            {
                var buckets = group.ToList();
                double le = double.NegativeInfinity, count = 0;
                foreach (var bucket in buckets)
                {
                    if (!bucket.Labels.TryGetValue("le", out var bound))
                    {
                        throw new FormatException($"{histogram}_bucket without le");
                    }

                    var next = ParseFloat(bound);
                    if (next <= le || bucket.Value < count)
                    {
                        throw new FormatException($"{histogram} buckets not increasing in le or not cumulative at le=\"{bound}\"");
                    }

                    (le, count) = (next, bucket.Value);
                }

                if (!double.IsPositiveInfinity(le))
                {
                    throw new FormatException($"{histogram} has no le=\"+Inf\" bucket");
                }

                var total = samples.SingleOrDefault(s => s.Name == histogram + "_count" && Key(s.Labels, without: null) == group.Key)
                    ?? throw new FormatException($"{histogram} has buckets but no _count");
                if (total.Value != count)
                {
                    throw new FormatException($"{histogram}_count {total.Value} differs from its +Inf bucket {count}");
                }
            }
        }
    }

    private static void CheckCounters(Dictionary<string, string> types, List<Sample> samples)
    {
        foreach (var s in samples.Where(s => types.GetValueOrDefault(s.Name) == "counter"))
        {
            if (!(s.Value >= 0))
            {
                throw new FormatException($"counter {s.Name} is {s.Value}");
            }
        }
    }

    private static string Key(IReadOnlyDictionary<string, string> labels, string? without) =>
        string.Join(',', labels.Where(l => l.Key != without).OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => l.Key + "=" + l.Value));

    private static string Unescape(string text, bool allowQuote)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] != '\\')
            {
                sb.Append(text[i]);
                continue;
            }

            if (++i == text.Length)
            {
                throw new FormatException("a lone backslash at the end");
            }

            sb.Append(text[i] switch
            {
                '\\' => '\\',
                'n' => '\n',
                '"' when allowQuote => '"',
                var other => throw new FormatException($"escape \\{other} is not allowed here"),
            });
        }

        return sb.ToString();
    }

    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    private sealed class Cursor(string line)
    {
        public int Position { get; private set; }

        public bool AtEnd => Position >= line.Length;

        public char Peek => AtEnd ? throw new FormatException("unexpected end of line") : line[Position];

        public void Next() => Position++;

        public void SkipBlanks()
        {
            while (!AtEnd && line[Position] is ' ' or '\t')
            {
                Position++;
            }
        }

        public void RequireBlank()
        {
            if (AtEnd || line[Position] is not (' ' or '\t'))
            {
                throw new FormatException($"expected a blank at column {Position + 1}");
            }

            SkipBlanks();
        }

        public void Expect(char ch)
        {
            if (Peek != ch)
            {
                throw new FormatException($"expected '{ch}' at column {Position + 1}");
            }

            Position++;
        }

        public string Token()
        {
            var start = Position;
            while (!AtEnd && line[Position] is not (' ' or '\t'))
            {
                Position++;
            }

            return line[start..Position];
        }

        public string Rest()
        {
            var rest = line[Position..];
            Position = line.Length;
            return rest;
        }

        public string MetricName() => Name(first: ch => char.IsAsciiLetter(ch) || ch is '_' or ':', rest: ch => char.IsAsciiLetterOrDigit(ch) || ch is '_' or ':', "metric name");

        public string LabelName() => Name(first: ch => char.IsAsciiLetter(ch) || ch == '_', rest: ch => char.IsAsciiLetterOrDigit(ch) || ch == '_', "label name");

        public string Quoted()
        {
            Expect('"');
            var start = Position;
            while (Peek != '"')
            {
                Position += Peek == '\\' ? 2 : 1;
                if (Position > line.Length)
                {
                    throw new FormatException("unterminated label value");
                }
            }

            var raw = line[start..Position];
            Position++;
            return Unescape(raw, allowQuote: true);
        }

        private string Name(Func<char, bool> first, Func<char, bool> rest, string what)
        {
            var start = Position;
            if (AtEnd || !first(line[Position]))
            {
                throw new FormatException($"expected a {what} at column {Position + 1}");
            }

            while (!AtEnd && rest(line[Position]))
            {
                Position++;
            }

            return line[start..Position];
        }
    }
}
