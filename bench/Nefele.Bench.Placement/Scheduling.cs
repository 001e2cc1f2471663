using System.Diagnostics;
using Nefele.Client;
using Nefele.Placement;
using Nefele.Processes;

namespace Nefele.Bench.Placement;

/// <summary>
/// Scheduling time: one request of k identical short sleepers, from submit until every task
/// is Running; the tasks are killed by NPID (and awaited) before the next request.
/// </summary>
internal static class Scheduling
{
    public static readonly ProcessSpec Sleeper = new() { Path = "/bin/sleep", Args = ["20"] };

    /// <summary>n measured requests of <paramref name="tasks"/> tasks each (after <paramref name="warmup"/> unmeasured ones).</summary>
    public static async Task<Latency> MeasureAsync(NefeleTenant tenant, int tasks, int n, int warmup)
    {
        var samples = new List<double>(n);
        for (var i = 0; i < warmup + n; i++)
        {
            var start = Stopwatch.GetTimestamp();
            var result = await tenant.SubmitAsync(new SpawnRequest { Tasks = [Sleeper], Count = tasks });
            var elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            if (result.Npids.Count != tasks)
            {
                throw new InvalidOperationException($"asked {tasks} tasks, got {result.Npids.Count}: {string.Join("; ", result.Rejected)}");
            }

            if (i >= warmup)
            {
                samples.Add(elapsed);
            }

            await KillAsync(tenant, result.Npids);
        }

        return Latency.Of(samples);
    }

    /// <summary>SIGKILL every NPID and wait until each has ended.</summary>
    public static async Task KillAsync(NefeleTenant tenant, IEnumerable<string> npids)
    {
        await Task.WhenAll(npids.Select(async npid =>
        {
            try
            {
                await tenant.KillAsync(npid, Signals.SigKill);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await tenant.WaitAsync(npid, cts.Token);
            }
            catch (Exception)
            {
                // Already ended, or not ending in time: the next measurement does not depend on it.
            }
        }));
    }

    /// <summary>Kills every process of the tenant still alive (leftovers of a load run).</summary>
    public static async Task<int> KillLeftoversAsync(NefeleTenant tenant)
    {
        var alive = (await tenant.PsAsync()).Where(p => !p.State.IsTerminal()).Select(p => p.Npid).ToArray();
        await KillAsync(tenant, alive);
        return alive.Length;
    }
}
