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

    /// <summary>Supervisors started at most to find one placed as wanted (Orleans places each supervisor, not the bench).</summary>
    private const int PlacementAttempts = 20;

    /// <summary>One node of a cluster: a client connected through its gateway, and a selector that places a process on it.</summary>
    internal sealed record Node(string Name, string Selector, NefeleTenant Tenant);

    /// <summary>On one node: the supervisor's own node runs its child.</summary>
    public static Task<(List<double> Client, List<double> Node, string Where)> RunAsync(NefeleTenant tenant, int n) =>
        MeasureAsync(tenant, n, Spec([]), "bench-" + Guid.NewGuid().ToString("N")[..12], null);

    /// <summary>
    /// On a cluster: supervisors are started, their child placed on each node in turn, until one runs
    /// with its child (<paramref name="crossNode"/> false) or away from it (true); the restarts are
    /// then watched through the gateway of the supervisor's node, so in the cross-node case the child
    /// is on another node than both the supervisor and the client, and the crash's report, the
    /// decision and the replacement's spawn all cross nodes.
    /// </summary>
    public static async Task<(List<double> Client, List<double> Node, string Where)> RunAsync(IReadOnlyList<Node> nodes, int n, bool crossNode)
    {
        for (var attempt = 0; attempt < PlacementAttempts; attempt++)
        {
            var child = nodes[attempt % nodes.Count];
            var spec = Spec([child.Selector]);
            var name = "bench-" + Guid.NewGuid().ToString("N")[..12];
            var status = await child.Tenant.Supervisors.StartAsync(name, spec);
            var childNode = (await child.Tenant.GetAsync(status.Children[0].Npid!)).Node;
            var client = nodes.FirstOrDefault(x => x.Name == status.Node);
            if (client is not null && (status.Node != childNode) == crossNode)
            {
                return await MeasureAsync(client.Tenant, n, spec, name, status);
            }

            await child.Tenant.Supervisors.StopAsync(name);
        }

        throw new InvalidOperationException($"{PlacementAttempts} supervisors started, none {(crossNode ? "away from" : "on")} its child's node");
    }

    private static SupervisorSpec Spec(IReadOnlyList<string> affinity) => new()
    {
        MaxRestarts = 100_000,
        PeriodSeconds = 1,
        Children =
        [
            new ChildSpec
            {
                Id = "w",
                Shutdown = "brutal_kill",
                Process = new ProcessSpec { Path = "/bin/sleep", Args = ["600"], Affinity = affinity },
            },
        ],
    };

    private static async Task<(List<double> Client, List<double> Node, string Where)> MeasureAsync(
        NefeleTenant tenant, int n, SupervisorSpec spec, string name, SupervisorStatus? status)
    {
        status ??= await tenant.Supervisors.StartAsync(name, spec);
        var where = $"supervisor on {status.Node}, child on {(await tenant.GetAsync(status.Children[0].Npid!)).Node}";
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
}
