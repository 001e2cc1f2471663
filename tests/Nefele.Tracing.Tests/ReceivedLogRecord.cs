using System.Text.Json;

namespace Nefele.Tracing.Tests;

/// <summary>One log record as the OTLP receiver decoded it (ids in lowercase hex, empty when unset).</summary>
public sealed record ReceivedLogRecord
{
    public string? Service { get; init; }

    public string? Scope { get; init; }

    public string TimeUnixNano { get; init; } = "0";

    public int SeverityNumber { get; init; }

    public JsonElement Body { get; init; }

    public Dictionary<string, JsonElement> Attributes { get; init; } = [];

    public string TraceId { get; init; } = string.Empty;

    public string SpanId { get; init; } = string.Empty;

    public string? Text => Body.ValueKind == JsonValueKind.String ? Body.GetString() : null;

    public string? Attribute(string name) => Attributes.TryGetValue(name, out var v)
        ? v.ValueKind == JsonValueKind.String ? v.GetString() : v.ToString()
        : null;
}
