using System.Collections.Concurrent;
using System.Diagnostics;

namespace Nefele.Bench.Placement;

/// <summary>One step of an open-loop ramp: Poisson arrivals at <see cref="OfferedRps"/> for a fixed time.</summary>
internal sealed record RampStep(double OfferedRps, double DurationS, int Sent, int Completed, int Failed, int Dropped, int Unfinished, double AchievedRps, Latency Latency, string? FirstError)
{
    public object Json() => new
    {
        offered_rps = OfferedRps,
        duration_s = DurationS,
        sent = Sent,
        completed = Completed,
        failed = Failed,
        dropped = Dropped,
        unfinished = Unfinished,
        achieved_rps = Math.Round(AchievedRps, 1),
        latency = Latency.Json(),
        first_error = FirstError,
    };
}

/// <summary>A ramp's steps, its latency floor and the highest rate served on that floor.</summary>
internal sealed record RampResult(IReadOnlyList<RampStep> Steps, string? StoppedBecause)
{
    /// <summary>p50 of the lowest-rate step (after an unmeasured warm-up): the latency when nothing queues.</summary>
    public double FloorP50Ms => Steps.Count == 0 ? double.NaN : Steps[0].Latency.P50Ms;

    /// <summary>The lowest p50 of any step (at low rates a mostly idle machine answers more slowly than a busy one).</summary>
    public double BestP50Ms => Steps.Where(s => s.Latency.N > 0).Select(s => s.Latency.P50Ms).DefaultIfEmpty(double.NaN).Min();

    /// <summary>The highest offered rate, before any step whose p50 leaves the floor (> 2×), that was served (achieved ≥ 90 % of offered).</summary>
    public double MaxRateOnFloor
    {
        get
        {
            var best = 0.0;
            foreach (var s in Steps)
            {
                if (!OnFloor(s))
                {
                    break;
                }

                best = s.OfferedRps;
            }

            return best;
        }
    }

    public double MaxAchievedRps => Steps.Count == 0 ? 0 : Steps.Max(s => s.AchievedRps);

    public bool OnFloor(RampStep s) =>
        s.Latency.N > 0 && s.Latency.P50Ms <= 2 * FloorP50Ms && s.AchievedRps >= 0.9 * s.OfferedRps && s.Failed == 0 && s.Unfinished == 0 && s.Dropped == 0;

    public object Json() => new
    {
        steps = Steps.Select(s => s.Json()),
        floor_p50_ms = Latency.Round(FloorP50Ms),
        best_p50_ms = Latency.Round(BestP50Ms),
        max_rate_on_floor_rps = MaxRateOnFloor,
        max_achieved_rps = Math.Round(MaxAchievedRps, 1),
        stopped_because = StoppedBecause,
    };
}

/// <summary>
/// Open-loop load: requests arrive as a Poisson process whatever the answers do (a slow
/// system does not slow the arrivals), so queueing shows as latency. Each step runs for a
/// fixed time, then its requests get a bounded time to finish; the ramp stops at the first
/// saturated step so the whole run stays bounded.
/// </summary>
internal static class Ramp
{
    public static async Task<RampResult> RunAsync(
        IReadOnlyList<double> rates, TimeSpan step, Func<int, Task> submit, TimeSpan settle, Action<RampStep> report,
        int maxInFlight = 3000, TimeSpan? drain = null)
    {
        // Unmeasured: connections, activations and code paths warm at the lowest rate first.
        _ = await StepAsync(rates[0], step, submit, maxInFlight, drain ?? TimeSpan.FromSeconds(15));
        await Task.Delay(settle);
        var steps = new List<RampStep>();
        string? stopped = null;
        foreach (var rate in rates)
        {
            var s = await StepAsync(rate, step, submit, maxInFlight, drain ?? TimeSpan.FromSeconds(15));
            steps.Add(s);
            report(s);
            await Task.Delay(settle);
            var floor = steps[0].Latency.P50Ms;
            if (s.Latency.N == 0 || s.Unfinished > 0 || s.Dropped > 0 || s.AchievedRps < 0.6 * s.OfferedRps || s.Latency.P50Ms > 10 * floor)
            {
                stopped = $"saturated at {rate} req/s (achieved {s.AchievedRps:0.#} req/s, p50 {s.Latency.P50Ms:0.#} ms)";
                break;
            }
        }

        return new RampResult(steps, stopped);
    }

    private static async Task<RampStep> StepAsync(double rate, TimeSpan duration, Func<int, Task> submit, int maxInFlight, TimeSpan drain)
    {
        var latencies = new ConcurrentBag<double>();
        var random = new Random(unchecked((int)rate * 7919));
        var pending = new List<Task>();
        int sent = 0, failed = 0, dropped = 0, inFlight = 0;
        long lastDone = 0;
        string? firstError = null;
        var clock = Stopwatch.StartNew();
        var end = duration.TotalSeconds;
        var next = 0.0;
        while (true)
        {
            next += -Math.Log(1 - random.NextDouble()) / rate;
            if (next >= end)
            {
                break;
            }

            var wait = next - clock.Elapsed.TotalSeconds;
            if (wait > 0.001)
            {
                await Task.Delay(TimeSpan.FromSeconds(wait));
            }

            if (Volatile.Read(ref inFlight) >= maxInFlight)
            {
                dropped++;
                continue;
            }

            Interlocked.Increment(ref inFlight);
            pending.Add(OneAsync(sent++));
        }

        var all = Task.WhenAll(pending);
        await Task.WhenAny(all, Task.Delay(drain));
        var completed = latencies.Count;
        var span = Math.Max(end, TimeSpan.FromTicks(Interlocked.Read(ref lastDone)).TotalSeconds);
        return new RampStep(rate, end, sent, completed, Volatile.Read(ref failed), dropped, Volatile.Read(ref inFlight),
            completed / span, Latency.Of(latencies), firstError);

        async Task OneAsync(int i)
        {
            // Timed from the arrival, so a busy client is not hidden from the figure.
            var start = Stopwatch.GetTimestamp();
            await Task.Yield();
            try
            {
                await submit(i);
                latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                Interlocked.Exchange(ref lastDone, clock.Elapsed.Ticks);
            }
            catch (Exception e)
            {
                Interlocked.Increment(ref failed);
                Interlocked.CompareExchange(ref firstError, e.GetType().Name + ": " + e.Message, null);
            }
            finally
            {
                Interlocked.Decrement(ref inFlight);
            }
        }
    }
}
