using Nefele.Client;
using Xunit;

namespace Nefele.Cluster.Tests;

public sealed partial class ClusterTests
{
    /// <summary>
    /// A durable supervisor outlives the node it runs on: that node is killed, and with nothing calling
    /// the supervisor, it activates on another node from its stored state (woken after the lost silo)
    /// and goes on restarting its children there — those lost with the node, and one killed meanwhile
    /// on a surviving node. The test watches the tenant's processes only, never the supervisor, until
    /// the replacements run; so nothing but the cluster brought the supervisor back. It restarts exactly
    /// the children that ended (lost with the node, or killed): the others keep running as they were, and
    /// the pool never runs more than its size.
    /// </summary>
    [Fact]
    public async Task A_supervisor_survives_the_death_of_its_node_and_keeps_restarting_its_children()
    {
        var tenant = await NewTenantAsync(cluster);
        var spec = new SupervisorSpec
        {
            Strategy = SupervisorStrategy.SimpleOneForOne,
            PoolSize = 4,
            MaxRestarts = 20,
            PeriodSeconds = 60,
            Children = [new ChildSpec { Id = "w", Shutdown = "brutal_kill", Process = Sleeper() }],
        };

        // Node 1 is never damaged by a test: start supervisors until one runs on node 2 or 3.
        SupervisorStatus? status = null;
        string name = string.Empty;
        for (var attempt = 0; attempt < 12 && status is null; attempt++)
        {
            name = $"pool-{attempt}";
            var started = await tenant.Supervisors.StartAsync(name, spec).WaitAsync(Bound);
            if (started.Node == ClusterFixture.NodeName(1))
            {
                await tenant.Supervisors.StopAsync(name).WaitAsync(Bound);
                continue;
            }

            status = started;
        }

        Assert.True(status is not null, "every supervisor started on node 1");
        var home = status.Node!;
        var k = int.Parse(home[(ClusterFixture.Prefix.Length + 2)..], System.Globalization.CultureInfo.InvariantCulture);
        output.WriteLine($"supervisor {name} runs on {home}; children: {string.Join(", ", status.Children.Select(c => c.Npid))}");
        try
        {
            var first = status.Children.Select(c => c.Npid!).ToHashSet();
            var before = new Dictionary<string, string?>();
            foreach (var npid in first)
            {
                before[npid] = (await tenant.GetAsync(npid)).Node;
            }

            await cluster.ScriptAsync("kill", k.ToString(System.Globalization.CultureInfo.InvariantCulture));

            // One child on a surviving node (when placement put one there) is killed while the supervisor is down.
            var victim = first.FirstOrDefault(n => before[n] != home);
            if (victim is not null)
            {
                await Eventually.AcrossFailover(() => tenant.KillAsync(victim, Signals.SigKill), Bound);
            }

            // The replacements come from the supervisor alone: ps shows a full pool again, none on the dead node.
            // While it comes back, the pool never runs more than its size off the dead node: a child that
            // still runs is never started a second time.
            var lostHere = first.Count(n => before[n] == home);
            IReadOnlyList<ProcessInfo> running = [];
            await Eventually.Until(async () =>
            {
                running = [.. (await Eventually.AcrossFailover(() => tenant.PsAsync(), Bound)).Where(p => p.State == ProcessState.Running && p.Node != home)];
                Assert.True(running.Count <= spec.PoolSize, $"{running.Count} children run off {home}, more than the pool's {spec.PoolSize}: {string.Join(", ", running.Select(p => $"{p.Npid} on {p.Node}"))}");
                return running.Count == spec.PoolSize && running.All(p => p.Npid != victim);
            }, TimeSpan.FromSeconds(120), $"a full pool of {spec.PoolSize} running off {home} after it was killed ({lostHere} lost with it, 1 killed)");

            var after = await Eventually.AcrossFailover(() => tenant.Supervisors.GetAsync(name), Bound);
            output.WriteLine($"supervisor {name} now on {after.Node}: {after.Restarts} restarts; children: {string.Join(", ", after.Children.Select(c => $"{c.Id}={c.Npid}"))}");
            Assert.NotEqual(home, after.Node);
            Assert.Equal(SupervisorPhase.Running, after.Phase);
            Assert.Equal((victim is null ? 0 : 1) + lostHere, after.Restarts);
            Assert.Equal(running.Select(p => p.Npid).Order(), after.Children.Select(c => c.Npid!).Order());

            // Exactly the children that ended were restarted: every other one is still the same process.
            var untouched = first.Where(n => before[n] != home && n != victim).ToList();
            Assert.All(untouched, n => Assert.Contains(n, after.Children.Select(c => c.Npid)));
            Assert.Equal(spec.PoolSize - untouched.Count, after.Children.Count(c => !first.Contains(c.Npid!)));
        }
        finally
        {
            await Eventually.AcrossFailover(() => tenant.Supervisors.StopAsync(name), TimeSpan.FromSeconds(120));
        }
    }
}
