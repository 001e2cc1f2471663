using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Text.RegularExpressions;

namespace Nefele.Silo.Api;

/// <summary>
/// Says in the contract's own terms what was wrong with a JSON body: which field, where, and what
/// was expected, instead of the serializer's text (which names .NET types).
/// </summary>
internal static partial class JsonBodyErrors
{
    /// <summary>The sentence for <paramref name="error"/>, raised reading a body of <paramref name="bodyType"/>.</summary>
    public static string Describe(JsonException error, Type? bodyType, JsonSerializerOptions options)
    {
        if (error.InnerException is { } inner && inner.GetType().Name == "JsonReaderException")
        {
            return $"malformed JSON at line {error.LineNumber + 1}, byte {error.BytePositionInLine + 1}: {ReaderText(inner.Message)}";
        }

        var segments = Segments(error.Path);
        var (parent, target) = Walk(bodyType, segments, options);
        var last = segments.Count > 0 ? segments[^1] : null;
        var field = last is { Index: false } ? last.Name : null;
        var where = segments.Count > 1 ? " in " + Display(segments.Take(segments.Count - 1)) : string.Empty;
        var message = error.Message;

        if (field is not null && parent is { Kind: JsonTypeInfoKind.Object } && parent.Properties.All(p => p.Name != field))
        {
            var known = parent.Properties.Where(p => !IsComputed(p)).Select(p => p.Name).ToList();
            var guess = known.FirstOrDefault(k => k.Equals(field, StringComparison.OrdinalIgnoreCase))
                ?? known.FirstOrDefault(k => field.Length >= 3 && (k.StartsWith(field, StringComparison.OrdinalIgnoreCase) || field.StartsWith(k, StringComparison.OrdinalIgnoreCase)));
            return $"unknown field '{field}'{where}"
                + (guess is null ? string.Empty : $" (did you mean '{guess}'?)")
                + $"; the fields are: {string.Join(", ", known)}";
        }

        if (message == JsonContract.ComputedField)
        {
            return $"field '{field}'{where} is computed by the server and cannot be set";
        }

        if (message.StartsWith("Duplicate propert", StringComparison.Ordinal))
        {
            return field is null ? $"duplicate field at {Display(segments)}" : $"duplicate field '{field}'{where}";
        }

        if (message.Contains("missing required properties", StringComparison.Ordinal))
        {
            var names = QuotedNames().Matches(message[message.IndexOf("including:", StringComparison.Ordinal)..]).Select(m => m.Groups[1].Value);
            var at = segments.Count > 0 ? " in " + Display(segments) : string.Empty;
            return $"missing required field{(names.Count() > 1 ? "s" : string.Empty)} {string.Join(", ", names.Select(n => $"'{n}'"))}{at}";
        }

        if (message.Contains("doesn't allow setting null", StringComparison.Ordinal))
        {
            return $"field '{Display(segments)}' must not be null";
        }

        if (segments.Count == 0)
        {
            return "the body must be a JSON object";
        }

        return $"field '{Display(segments)}' must be {Expected(target)}";
    }

    /// <summary>A get-only member: written in answers, refused in bodies (see <see cref="JsonContract"/>).</summary>
    private static bool IsComputed(JsonPropertyInfo property) =>
        property.AttributeProvider is System.Reflection.PropertyInfo { CanWrite: false };

    /// <summary>What a value of <paramref name="type"/> looks like in JSON.</summary>
    private static string Expected(JsonTypeInfo? type)
    {
        if (type is null)
        {
            return "a value of the documented type";
        }

        var t = Nullable.GetUnderlyingType(type.Type) ?? type.Type;
        return type.Kind switch
        {
            JsonTypeInfoKind.Enumerable => "an array",
            JsonTypeInfoKind.Dictionary => "an object",
            JsonTypeInfoKind.Object => "an object",
            _ when t == typeof(int) => "an integer from -2147483648 to 2147483647",
            _ when t == typeof(uint) => "an integer from 0 to 4294967295",
            _ when t == typeof(long) => "an integer from -9223372036854775808 to 9223372036854775807",
            _ when t == typeof(double) || t == typeof(float) || t == typeof(decimal) => "a number",
            _ when t == typeof(bool) => "true or false",
            _ when t == typeof(string) => "a string",
            _ when t == typeof(DateTimeOffset) || t == typeof(DateTime) => "an RFC 3339 date-time string",
            // Roles are lowercase words on the wire (RoleJsonConverter); other enums keep their names.
            _ when t == typeof(Nefele.Client.Role) => "one of " + string.Join(", ", Enum.GetNames(t).Select(n => $"\"{JsonNamingPolicy.CamelCase.ConvertName(n)}\"")),
            _ when t.IsEnum => "one of " + string.Join(", ", Enum.GetNames(t).Select(n => $"\"{n}\"")),
            _ => "a value of the documented type",
        };
    }

    /// <summary>The contract types holding and held by the last segment of the path.</summary>
    private static (JsonTypeInfo? Parent, JsonTypeInfo? Target) Walk(Type? bodyType, IReadOnlyList<Segment> segments, JsonSerializerOptions options)
    {
        if (bodyType is null)
        {
            return (null, null);
        }

        JsonTypeInfo? parent = null;
        JsonTypeInfo? current = options.GetTypeInfo(bodyType);
        foreach (var segment in segments)
        {
            parent = current;
            current = current switch
            {
                { Kind: JsonTypeInfoKind.Object } when !segment.Index =>
                    current.Properties.FirstOrDefault(p => p.Name == segment.Name) is { } p ? options.GetTypeInfo(p.PropertyType) : null,
                { Kind: JsonTypeInfoKind.Dictionary } when !segment.Index => options.GetTypeInfo(current.ElementType!),
                { Kind: JsonTypeInfoKind.Enumerable } when segment.Index => options.GetTypeInfo(current.ElementType!),
                _ => null,
            };
        }

        return (parent, current);
    }

    private sealed record Segment(string Name, bool Index);

    /// <summary>"$.tasks[0].env['A B']" → tasks, [0], env, A B.</summary>
    private static List<Segment> Segments(string? path)
    {
        var segments = new List<Segment>();
        if (string.IsNullOrEmpty(path))
        {
            return segments;
        }

        foreach (Match m in PathSegment().Matches(path))
        {
            if (m.Groups["name"].Success)
            {
                segments.Add(new Segment(m.Groups["name"].Value, Index: false));
            }
            else if (m.Groups["quoted"].Success)
            {
                segments.Add(new Segment(m.Groups["quoted"].Value.Replace("\\'", "'", StringComparison.Ordinal), Index: false));
            }
            else
            {
                segments.Add(new Segment(m.Groups["index"].Value, Index: true));
            }
        }

        return segments;
    }

    private static string Display(IEnumerable<Segment> segments)
    {
        var text = new StringBuilder();
        foreach (var s in segments)
        {
            if (s.Index)
            {
                text.Append('[').Append(s.Name).Append(']');
            }
            else
            {
                text.Append(text.Length == 0 ? string.Empty : ".").Append(s.Name);
            }
        }

        return text.ToString();
    }

    /// <summary>The reader's sentence about the syntax, without its own position suffix (we give line and byte).</summary>
    private static string ReaderText(string message)
    {
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        var text = (cut >= 0 ? message[..cut] : message).Trim();
        return text.Length > 200 ? text[..200] + "…" : text;
    }

    [GeneratedRegex(@"\.(?<name>[^.\[\]]+)|\['(?<quoted>(?:[^'\\]|\\.)*)'\]|\[(?<index>\d+)\]")]
    private static partial Regex PathSegment();

    [GeneratedRegex("'([^']+)'")]
    private static partial Regex QuotedNames();
}
