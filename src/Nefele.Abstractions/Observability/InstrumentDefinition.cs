using System.Diagnostics.Metrics;

namespace Nefele.Observability;

/// <summary>
/// One metric instrument as every part of Nefele names it: its OpenTelemetry name, UCUM unit and
/// description. An instrument recorded in several processes (the silo and hostd) is created from
/// the same definition in each, so it cannot drift apart.
/// </summary>
/// <param name="Name">The instrument's name (OpenTelemetry semantic conventions, else <c>nefele.*</c>).</param>
/// <param name="Unit">The UCUM unit: <c>s</c>, <c>By</c>, <c>1</c>, or an annotation such as <c>{process}</c>.</param>
/// <param name="Description">What one measurement means.</param>
public sealed record InstrumentDefinition(string Name, string Unit, string Description)
{
    /// <summary>A monotonic counter of this definition on <paramref name="meter"/>.</summary>
    /// <param name="meter">The component's meter.</param>
    public Counter<long> Counter(Meter meter) => meter.CreateCounter<long>(Name, Unit, Description);

    /// <summary>A histogram of this definition on <paramref name="meter"/>, with explicit bucket boundaries.</summary>
    /// <param name="meter">The component's meter.</param>
    /// <param name="buckets">The upper bounds of the buckets, ascending.</param>
    public Histogram<double> Histogram(Meter meter, IReadOnlyList<double> buckets) =>
        meter.CreateHistogram<double>(Name, Unit, Description, tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = buckets });

    /// <summary>An observable gauge of this definition on <paramref name="meter"/>.</summary>
    /// <param name="meter">The component's meter.</param>
    /// <param name="observe">Called at each collection; returns the current values with their attributes.</param>
    public ObservableGauge<double> Gauge(Meter meter, Func<IEnumerable<Measurement<double>>> observe) =>
        meter.CreateObservableGauge(Name, observe, Unit, Description);
}
