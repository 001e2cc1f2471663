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

    /// <summary>The restarts of one supervisor, client-seen and node-side, and where it and its child ran.</summary>
    internal sealed record Figures(List<double> Client, List<double> Node, string Where);

    /// <summary>On one node: the supervisor's own node runs its child.</summary>
    public static async Task<Figures> RunAsync(NefeleTenant tenant, int n)
    {
        var supervisor = await Started.StartAsync(tenant, Spec([]));
        try
        {
            for (var i = 0; i < n + Warmup; i++)
            {
                await supervisor.RestartAsync(measured: i >= Warmup);
            }
        }
        finally
        {
            await supervisor.StopAsync();
        }

        return supervisor.Figures;
    }

    /// <summary>
    /// On a cluster: one supervisor that runs with its child (same node) and one that runs away from
    /// it (cross node), each watched through the gateway of its own node, so in the second the child
    /// is on another node than both the supervisor and the client, and the crash's report, the
    /// decision and the replacement's spawn all cross nodes. Their restarts take turns, the order
    /// flipped every round, so both see the same load and the same warm-up.
    /// </summary>
    public static async Task<(Figures SameNode, Figures CrossNode)> RunAsync(IReadOnlyList<Node> nodes, int n)
    {
        var same = await StartPlacedAsync(nodes, crossNode: false);
        Started? cross = null;
        try
        {
            cross = await StartPlacedAsync(nodes, crossNode: true);
            for (var i = 0; i < n + Warmup; i++)
            {
                foreach (var s in i % 2 == 0 ? [same, cross] : new[] { cross, same })
                {
                    await s.RestartAsync(measured: i >= Warmup);
                }
            }
        }
        finally
        {
            await same.StopAsync();
            if (cross is not null)
            {
                await cross.StopAsync();
            }
        }

        return (same.Figures, cross.Figures);
    }

    /// <summary>
    /// Starts supervisors, their child placed on each node in turn, until one runs with its child
    /// (<paramref name="crossNode"/> false) or away from it (true); it is then watched through its own node.
    /// </summary>
    private static async Task<Started> StartPlacedAsync(IReadOnlyList<Node> nodes, bool crossNode)
    {
        for (var attempt = 0; attempt < PlacementAttempts; attempt++)
        {
            var child = nodes[attempt % nodes.Count];
            var started = await Started.StartAsync(child.Tenant, Spec([child.Selector]));
            var client = nodes.FirstOrDefault(x => x.Name == started.Status.Node);
            if (client is not null && (started.Status.Node != started.ChildNode) == crossNode)
            {
                return started with { Tenant = client.Tenant };
            }

            await started.StopAsync();
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

    /// <summary>A running supervisor, the client that watches it, and its figures so far.</summary>
    private sealed record Started(NefeleTenant Tenant, string Name, string? ChildNode)
    {
        public required SupervisorStatus Status { get; set; }

        public Figures Figures => new(Client, NodeSide, $"supervisor on {Status.Node}, child on {ChildNode}");

        private List<double> Client { get; } = [];

        private List<double> NodeSide { get; } = [];

        public static async Task<Started> StartAsync(NefeleTenant tenant, SupervisorSpec spec)
        {
            var name = "bench-" + Guid.NewGuid().ToString("N")[..12];
            var status = await tenant.Supervisors.StartAsync(name, spec);
            return new Started(tenant, name, (await tenant.GetAsync(status.Children[0].Npid!)).Node) { Status = status };
        }

        /// <summary>SIGKILLs the child and waits for its replacement Running; records the time when <paramref name="measured"/>.</summary>
        public async Task RestartAsync(bool measured)
        {
            var old = Status.Children[0].Npid!;
            var start = Stopwatch.GetTimestamp();
            await Tenant.KillAsync(old, Signals.SigKill);
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            Status = await Tenant.Supervisors.WaitForAsync(Name, s => s.Children[0] is { Phase: ChildPhase.Running, Npid: { } now } && now != old, bound.Token);
            var elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            if (!measured)
            {
                return;
            }

            Client.Add(elapsed);
            var ended = (await Tenant.GetAsync(old)).End!.EndedAt;
            if ((await Tenant.GetAsync(Status.Children[0].Npid!)).StartedAt is { } started)
            {
                NodeSide.Add((started - ended).TotalMilliseconds);
            }
        }

        public async Task StopAsync() => await Tenant.Supervisors.StopAsync(Name);
    }
}
