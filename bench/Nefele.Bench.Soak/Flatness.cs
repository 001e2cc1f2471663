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
                ["flat"] = deviation <= TolerancePercent,
            };
        }

        return result;
    }
}
