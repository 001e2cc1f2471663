using System.Diagnostics;
using Nefele.Client;

namespace Nefele.Bench;

/// <summary>
/// Crash to replacement Running under a durable supervisor (one_for_one, one permanent child): the
/// child is SIGKILLed and timed until the supervisor's status shows its replacement Running, as a
/// client watching the supervisor learns it (supervise_restart). The same restarts seen from the
/// node's own timestamps, the old run's end to the new run's start (supervise_restart_node), leave
/// the client's calls out. On a cluster the child is placed by <paramref name="affinity"/>, and the
/// supervisor is taken on the child's node (<c>crossNode</c> false) or on another one (true): a
/// supervisor that lands elsewhere is stopped and started again under a new name.
/// </summary>
internal static class Supervise
{
    private const int Warmup = 10;

    /// <summary>Supervisors started at most to find one where it is wanted (Orleans places each by its name).</summary>
    private const int PlacementAttempts = 20;

    public static async Task<(List<double> Client, List<double> Node, string Where)> RunAsync(
        NefeleTenant tenant, int n, IReadOnlyList<string>? affinity = null, bool crossNode = false)
    {
        var spec = new SupervisorSpec
        {
            MaxRestarts = 100_000,
            PeriodSeconds = 1,
            Children =
            [
                new ChildSpec
                {
                    Id = "w",
                    Shutdown = "brutal_kill",
                    Process = new ProcessSpec { Path = "/bin/sleep", Args = ["600"], Affinity = affinity ?? [] },
                },
            ],
        };
        var (name, status, where) = await StartPlacedAsync(tenant, spec, affinity is not null, crossNode);
        var client = new List<double>(n);
        var node = new List<double>(n);
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

        return (client, node, where);
    }

    /// <summary>
    /// Starts the supervisor; when <paramref name="placed"/>, until it runs on the child's node
    /// (<paramref name="crossNode"/> false) or on another (true). Answers where each runs.
    /// </summary>
    private static async Task<(string Name, SupervisorStatus Status, string Where)> StartPlacedAsync(
        NefeleTenant tenant, SupervisorSpec spec, bool placed, bool crossNode)
    {
        for (var attempt = 1; ; attempt++)
        {
            var name = "bench-" + Guid.NewGuid().ToString("N")[..12];
            var status = await tenant.Supervisors.StartAsync(name, spec);
            var childNode = (await tenant.GetAsync(status.Children[0].Npid!)).Node;
            var where = $"supervisor on {status.Node}, child on {childNode}";
            if (!placed || (status.Node != childNode) == crossNode)
            {
                return (name, status, where);
            }

            await tenant.Supervisors.StopAsync(name);
            if (attempt == PlacementAttempts)
            {
                throw new InvalidOperationException(
                    $"{PlacementAttempts} supervisors started, none {(crossNode ? "away from" : "on")} its child's node (last: {where})");
            }
        }
    }
}
