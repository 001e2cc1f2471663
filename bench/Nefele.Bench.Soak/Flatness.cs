using System.Text.Json.Nodes;

namespace Nefele.Bench.Soak;

/// <summary>
/// How flat each series stays after warm-up: its mean, least and most, the largest deviation from
/// the mean in percent, and whether every sample is within ±10 % of it.
/// </summary>
internal static class Flatness
{
    public const double TolerancePercent = 10;

    public static JsonObject Of(IReadOnlyList<Sample> steady, IEnumerable<(string Name, Func<Sample, double?> Value)> series)
    {
        var result = new JsonObject();
        foreach (var (name, value) in series)
        {
            var values = steady.Select(value).OfType<double>().ToArray();
            if (values.Length == 0)
            {
                continue;
            }

            var mean = values.Average();
            var deviation = mean == 0 ? (values.Max() == 0 ? 0 : 100) : values.Max(v => Math.Abs(v - mean)) / mean * 100;
            result[name] = new JsonObject
            {
                ["n"] = values.Length,
                ["mean"] = Math.Round(mean, 1),
                ["min"] = values.Min(),
                ["max"] = values.Max(),
                ["first"] = values[0],
                ["last"] = values[^1],
                ["max_deviation_percent"] = Math.Round(deviation, 2),
                ["trend_percent"] = Math.Round(Trend(steady.Select(s => s.Seconds).ToArray(), steady.Select(value).ToArray(), mean), 2),
                ["flat"] = deviation <= TolerancePercent,
            };
        }

        return result;
    }

    /// <summary>The least-squares line's change over the window, in percent of the mean: growth shows here even when samples are noisy.</summary>
    private static double Trend(double[] seconds, double?[] values, double mean)
    {
        var points = seconds.Zip(values).Where(p => p.Second is not null).Select(p => (X: p.First, Y: p.Second!.Value)).ToArray();
        if (points.Length < 2 || mean == 0)
        {
            return 0;
        }

        var mx = points.Average(p => p.X);
        var my = points.Average(p => p.Y);
        var sxx = points.Sum(p => (p.X - mx) * (p.X - mx));
        var slope = sxx == 0 ? 0 : points.Sum(p => (p.X - mx) * (p.Y - my)) / sxx;
        return slope * (points[^1].X - points[0].X) / mean * 100;
    }
}
