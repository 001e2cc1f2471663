using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Nefele;

/// <summary>The control plane's OpenTelemetry instruments (one Meter and one ActivitySource, "Nefele.Grains").</summary>
public static class Telemetry
{
    public const string Name = "Nefele.Grains";

    /// <summary>Marks <paramref name="activity"/> failed with <paramref name="error"/>'s message; false, so that as an exception filter it lets the exception pass.</summary>
    public static bool Failed(Activity? activity, Exception error)
    {
        activity?.SetStatus(ActivityStatusCode.Error, error.Message);
        return false;
    }

    public static readonly ActivitySource Source = new(Name);

    private static readonly Meter Meter = new(Name);

    /// <summary>From admission to every task Running (or refused).</summary>
    public static readonly Histogram<double> SpawnDuration = Meter.CreateHistogram<double>(
        "nefele.process.spawn.duration", unit: "s", description: "Time from a spawn request's admission until every task is Running");

    /// <summary>Offers → ranking → reservation.</summary>
    public static readonly Histogram<double> PlacementDuration = Meter.CreateHistogram<double>(
        "nefele.placement.decision.duration", unit: "s", description: "Time to choose and reserve nodes for a request");

    public static readonly Counter<long> Starts = Meter.CreateCounter<long>("nefele.process.starts", description: "Processes that reached Running");

    /// <summary>Tagged with nefele.process.end = exited | crashed | failed_to_start | lost.</summary>
    public static readonly Counter<long> Ends = Meter.CreateCounter<long>("nefele.process.ends", description: "Processes that ended, by how");

    /// <summary>Tagged with nefele.record = process | request: records removed past retention.</summary>
    public static readonly Counter<long> Collected = Meter.CreateCounter<long>("nefele.retention.collected", description: "Ended processes and spawn requests removed past retention");

    public static readonly Counter<long> Rejections = Meter.CreateCounter<long>("nefele.placement.rejections", description: "Spawn requests refused");
}
