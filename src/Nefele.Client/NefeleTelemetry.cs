using System.Diagnostics;

namespace Nefele.Client;

/// <summary>
/// The SDK's tracing: one <see cref="ActivitySource"/>, named <see cref="ActivitySourceName"/>.
/// A program that listens to it (OpenTelemetry: <c>AddSource("Nefele.Client")</c>, with
/// <c>AddSource("Microsoft.Orleans.Application")</c> so the grain calls carry the context) gets a
/// span around each spawn and kill, and the spawn's trace goes on through the silo, hostd and the
/// process itself (its <c>TRACEPARENT</c>). Nothing is recorded when nothing listens.
/// </summary>
public static class NefeleTelemetry
{
    /// <summary>The name of the SDK's activity source: "Nefele.Client".</summary>
    public const string ActivitySourceName = "Nefele.Client";

    internal static readonly ActivitySource Source = new(ActivitySourceName);
}
