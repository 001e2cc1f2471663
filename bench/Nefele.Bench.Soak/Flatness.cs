using System.Text.Json.Nodes;

namespace Nefele.Bench.Soak;

/// <summary>
/// How flat each series stays after warm-up: its mean, least and most, the largest deviation of a
/// sample from the mean in percent, the least-squares trend over the window, and the largest
/// deviation of a minute's median from the mean of those medians. A managed heap or a descriptor
/// count swings with every collection and with the processes alive at the moment of the sample;
/// growth shows in the minute medians and in the trend. The series is flat when both stay
/// within ±10 %.
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
            var deviation = Deviation(values);
            var minuteMedians = steady
                .Select(s => (Minute: (long)(s.Seconds / 60), Value: value(s)))
                .Where(p => p.Value is not null)
                .GroupBy(p => p.Minute)
                .Select(g => Median(g.Select(p => p.Value!.Value).ToArray()))
                .ToArray();
            var minuteDeviation = Deviation(minuteMedians);
            var trend = Trend(steady.Select(s => s.Seconds).ToArray(), steady.Select(value).ToArray(), mean);
            result[name] = new JsonObject
            {
                ["n"] = values.Length,
                ["mean"] = Math.Round(mean, 1),
                ["min"] = values.Min(),
                ["max"] = values.Max(),
                ["first"] = values[0],
                ["last"] = values[^1],
                ["max_deviation_percent"] = Math.Round(deviation, 2),
                ["minute_median_max_deviation_percent"] = Math.Round(minuteDeviation, 2),
                ["trend_percent"] = Math.Round(trend, 2),
                ["flat"] = minuteDeviation <= TolerancePercent && Math.Abs(trend) <= TolerancePercent,
            };
        }

        return result;
    }

    private static double Deviation(double[] values)
    {
        if (values.Length == 0)
        {
            return 0;
        }

        var mean = values.Average();
        return mean == 0 ? (values.Max() == 0 ? 0 : 100) : values.Max(v => Math.Abs(v - mean)) / mean * 100;
    }

    private static double Median(double[] values)
    {
        Array.Sort(values);
        var middle = values.Length / 2;
        return values.Length % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
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
