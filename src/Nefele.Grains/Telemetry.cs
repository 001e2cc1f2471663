using System.Diagnostics;
using System.Diagnostics.Metrics;
using Nefele.Observability;

namespace Nefele;

/// <summary>The control plane's OpenTelemetry instruments (one Meter and one ActivitySource, "Nefele.Grains"); defined in <see cref="Instruments"/>.</summary>
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
    public static readonly Histogram<double> SpawnDuration = Instruments.SpawnDuration.Histogram(Meter, Instruments.LatencyBuckets);

    /// <summary>Offers → ranking → reservation.</summary>
    public static readonly Histogram<double> PlacementDuration = Instruments.PlacementDuration.Histogram(Meter, Instruments.LatencyBuckets);

    public static readonly Counter<long> Admissions = Instruments.Admissions.Counter(Meter);

    /// <summary>Tagged with nefele.reason = the error code.</summary>
    public static readonly Counter<long> Rejections = Instruments.Rejections.Counter(Meter);

    /// <summary>Tagged with nefele.tenant and nefele.node.</summary>
    public static readonly Counter<long> Starts = Instruments.ProcessStarts.Counter(Meter);

    /// <summary>Tagged with nefele.process.end = exited | crashed | failed_to_start | lost, nefele.tenant and nefele.node.</summary>
    public static readonly Counter<long> Ends = Instruments.ProcessEnds.Counter(Meter);

    /// <summary>Tagged with nefele.record = process | request: records removed past retention.</summary>
    public static readonly Counter<long> Collected = Instruments.RetentionCollected.Counter(Meter);
}
