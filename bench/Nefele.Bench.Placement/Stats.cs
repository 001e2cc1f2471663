namespace Nefele.Bench.Placement;

/// <summary>Nearest-rank percentiles of a set of latencies, in milliseconds.</summary>
internal sealed record Latency(int N, double P50Ms, double P99Ms, double MeanMs, double MaxMs)
{
    public static readonly Latency Empty = new(0, double.NaN, double.NaN, double.NaN, double.NaN);

    public static Latency Of(IEnumerable<double> samples)
    {
        var sorted = samples.Order().ToArray();
        return sorted.Length == 0
            ? Empty
            : new Latency(sorted.Length, Percentile(sorted, 0.50), Percentile(sorted, 0.99), sorted.Average(), sorted[^1]);
    }

    public static double Percentile(double[] sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    public object Json() => new { n = N, p50_ms = Round(P50Ms), p99_ms = Round(P99Ms), mean_ms = Round(MeanMs), max_ms = Round(MaxMs) };

    public static double? Round(double v) => double.IsNaN(v) || double.IsInfinity(v) ? null : Math.Round(v, 3);
}
