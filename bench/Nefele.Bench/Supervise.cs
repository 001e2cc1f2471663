using System.Diagnostics;
using Nefele.Client;

namespace Nefele.Bench;

/// <summary>
/// Crash to replacement Running under a durable supervisor (one_for_one, one permanent child): the
/// child is SIGKILLed and timed until the supervisor's status shows its replacement Running, as a
/// client watching the supervisor learns it (supervise_restart). The same restarts seen from the
/// node's own timestamps, the old run's end to the new run's start (supervise_restart_node), leave
/// the client's calls out.
/// </summary>
internal static class Supervise
{
    private const int Warmup = 10;

    public static async Task<(List<double> Client, List<double> Node)> RunAsync(NefeleTenant tenant, int n)
    {
        var name = "bench-" + Guid.NewGuid().ToString("N")[..12];
        var spec = new SupervisorSpec
        {
            MaxRestarts = 100_000,
            PeriodSeconds = 1,
            Children = [new ChildSpec { Id = "w", Shutdown = "brutal_kill", Process = new ProcessSpec { Path = "/bin/sleep", Args = ["600"] } }],
        };
        var client = new List<double>(n);
        var node = new List<double>(n);
        var status = await tenant.Supervisors.StartAsync(name, spec);
        try
        {
            for (var i = 0; i < n + Warmup; i++)
            {
                var old = status.Children[0].Npid!;
                var start = Stopwatch.GetTimestamp();
                await tenant.KillAsync(old, Signals.SigKill);
                using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                status = await tenant.Supervisors.WaitForAsync(name, s => s.Children[0] is { Phase: ChildPhase.Running, Npid: { } now } && now != old, bound.Token);
                var elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                if (i < Warmup)
                {
                    continue;
                }

                client.Add(elapsed);
                var ended = (await tenant.GetAsync(old)).End!.EndedAt;
                if ((await tenant.GetAsync(status.Children[0].Npid!)).StartedAt is { } started)
                {
                    node.Add((started - ended).TotalMilliseconds);
                }
            }
        }
        finally
        {
            await tenant.Supervisors.StopAsync(name);
        }

        return (client, node);
    }
}
