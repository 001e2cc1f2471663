namespace Nefele.Tracing.Tests;

/// <summary>A span's link to another span (ids in lowercase hex).</summary>
public sealed record ReceivedLink(string TraceId, string SpanId);
