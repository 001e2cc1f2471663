using System.Text.Json;
using System.Text.Json.Serialization;

namespace Nefele.Tracing.Tests;

/// <summary>One span as the OTLP receiver decoded it (ids in lowercase hex, as in traceparent).</summary>
public sealed record ReceivedSpan
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string? Service { get; init; }

    public string? Scope { get; init; }

    public required string Name { get; init; }

    public int Kind { get; init; }

    public required string TraceId { get; init; }

    public required string SpanId { get; init; }

    public string ParentSpanId { get; init; } = string.Empty;

    public string StartUnixNano { get; init; } = "0";

    public string EndUnixNano { get; init; } = "0";

    /// <summary>OTLP's status code: 0 unset, 1 ok, 2 error.</summary>
    public int Status { get; init; }

    public Dictionary<string, JsonElement> Attributes { get; init; } = [];

    public List<ReceivedLink> Links { get; init; } = [];

    [JsonIgnore]
    public TimeSpan Duration => TimeSpan.FromTicks((long)((ulong.Parse(EndUnixNano) - ulong.Parse(StartUnixNano)) / 100));

    public string? Attribute(string name) => Attributes.TryGetValue(name, out var v)
        ? v.ValueKind == JsonValueKind.String ? v.GetString() : v.ToString()
        : null;
}
