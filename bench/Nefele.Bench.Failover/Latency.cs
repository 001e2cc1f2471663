namespace Nefele.Bench.Failover;

/// <summary>Nearest-rank percentiles of a set of times, in milliseconds.</summary>
internal sealed record Latency(int N, double P50Ms, double P99Ms, double MinMs, double MaxMs)
{
    public static Latency Of(IEnumerable<double> samples)
    {
        var sorted = samples.Order().ToArray();
        return sorted.Length == 0
            ? new(0, double.NaN, double.NaN, double.NaN, double.NaN)
            : new(sorted.Length, Percentile(sorted, 0.50), Percentile(sorted, 0.99), sorted[0], sorted[^1]);
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    public object Json() => new { n = N, p50_ms = Round(P50Ms), p99_ms = Round(P99Ms), min_ms = Round(MinMs), max_ms = Round(MaxMs) };

    public static double? Round(double v) => double.IsNaN(v) || double.IsInfinity(v) ? null : Math.Round(v, 1);
}
