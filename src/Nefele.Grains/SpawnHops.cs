using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Nefele;

/// <summary>
/// Where a spawn's time goes inside the silo, hop by hop, for the breakdown in bench/README.md.
/// Compiled in only when the grains are built with <c>-p:NefeleHopTiming=true</c> (the calls
/// vanish otherwise); then every 100 spawns the silo rewrites the file named by
/// <c>NEFELE_HOP_TIMES</c> with n, p50, p99 and mean per hop, in milliseconds.
/// </summary>
public static class SpawnHops
{
    private const int FlushEvery = 100;
    private static readonly ConcurrentDictionary<string, ConcurrentQueue<double>> Samples = new(StringComparer.Ordinal);
    private static int _spawns;

    /// <summary>Records the time from <paramref name="since"/> (a <see cref="Stopwatch"/> timestamp) to now as one sample of <paramref name="hop"/>.</summary>
    [Conditional("NEFELE_HOP_TIMING")]
    public static void Record(string hop, long since) =>
        Samples.GetOrAdd(hop, _ => new ConcurrentQueue<double>()).Enqueue(Stopwatch.GetElapsedTime(since).TotalMilliseconds);

    /// <summary>Counts one finished spawn request and writes the summary every <see cref="FlushEvery"/>.</summary>
    [Conditional("NEFELE_HOP_TIMING")]
    public static void Finished()
    {
        var spawns = Interlocked.Increment(ref _spawns);
        if (spawns % FlushEvery != 0 || Environment.GetEnvironmentVariable("NEFELE_HOP_TIMES") is not { Length: > 0 } path)
        {
            return;
        }

        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"requests {spawns - FlushEvery + 1}..{spawns}");
        text.AppendLine(CultureInfo.InvariantCulture, $"{"hop",-28} {"n",6} {"p50_ms",8} {"p99_ms",8} {"mean_ms",8}");
        foreach (var (hop, queue) in Samples.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var window = new List<double>();
            while (queue.TryDequeue(out var sample))
            {
                window.Add(sample);
            }

            var sorted = window.ToArray();
            Array.Sort(sorted);
            if (sorted.Length == 0)
            {
                continue;
            }

            double At(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
            text.AppendLine(CultureInfo.InvariantCulture, $"{hop,-28} {sorted.Length,6} {At(0.5),8:0.000} {At(0.99),8:0.000} {sorted.Average(),8:0.000}");
        }

        File.AppendAllText(path, text.ToString());
    }
}
