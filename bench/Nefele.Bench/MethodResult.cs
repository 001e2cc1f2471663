namespace Nefele.Bench;

internal sealed record MethodResult(string Method, int N, double P50Ms, double P99Ms)
{
    public static MethodResult Of(string method, IReadOnlyList<double> samples)
    {
        var sorted = samples.Order().ToArray();
        return new MethodResult(method, sorted.Length, Percentile(sorted, 0.50), Percentile(sorted, 0.99));
    }

    /// <summary>Nearest-rank percentile of sorted samples.</summary>
    private static double Percentile(double[] sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}
