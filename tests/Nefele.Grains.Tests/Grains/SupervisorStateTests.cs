using Nefele.Client;
using Nefele.Grains.Tests.Support;
using Nefele.Supervision;
using Nefele.Validation;

namespace Nefele.Grains.Tests.Grains;

/// <summary>
/// A durable supervisor acts only on the stored state: when another activation of it has written the
/// state since it read it (as happens for a while when a silo dies and Orleans activates the grain
/// again elsewhere), its write is refused, and it reads the state again and carries on from it,
/// restarting each ended child once, never a child that still runs.
/// </summary>
public class SupervisorStateTests(ClusterFixture cluster) : ClusterTest(cluster)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static readonly ProcessSpec Sleep = new() { Path = "/bin/sleep", Args = ["60"], CpuMillis = 100, MemoryBytes = 16L << 20 };

    [Fact]
    public async Task A_supervisor_whose_state_another_activation_wrote_restarts_an_ended_child_once_from_the_stored_state()
    {
        var spec = new SupervisorSpec
        {
            Strategy = SupervisorStrategy.SimpleOneForOne,
            PoolSize = 2,
            MaxRestarts = 5,
            PeriodSeconds = 60,
            Children = [new ChildSpec { Id = "w", Shutdown = "brutal_kill", Process = Sleep }],
        };
        var first = (await Tenant.Supervisors.StartAsync("pool", spec).WaitAsync(Bound)).Children.Select(c => c.Npid!).ToArray();
        try
        {
            await Cluster.RewriteAsync<SupervisorState>("supervisor", Cluster.Client.GetGrain<ISupervisorGrain>(SupervisorSpecs.Key(Tenant.Name, "pool")));

            await Cluster.ExitAsync(first[0], 1);

            using var bound = new CancellationTokenSource(Bound);
            var status = await Tenant.Supervisors.WaitForAsync("pool", s => s.Restarts == 1 && s.Children.All(c => c.Phase == ChildPhase.Running), bound.Token);
            var now = status.Children.Select(c => c.Npid!).ToArray();
            Assert.Equal(2, now.Length);
            Assert.Contains(first[1], now);
            Assert.DoesNotContain(first[0], now);

            // The tenant runs exactly the pool: the replacement and the child that never ended.
            var running = (await Tenant.PsAsync()).Where(p => p.State == ProcessState.Running).Select(p => p.Npid);
            Assert.Equal(now.Order(), running.Order());
        }
        finally
        {
            // The stop signals the children in reverse order, each after the one before ended; no hostd
            // here, so each end is reported once its signal went out.
            var children = (await Tenant.Supervisors.GetAsync("pool")).Children.Select(c => c.Npid).OfType<string>().Reverse().ToArray();
            var stop = Tenant.Supervisors.StopAsync("pool");
            foreach (var npid in children)
            {
                await Cluster.Channel.SignaledAsync(npid).WaitAsync(Bound);
                await Cluster.ExitAsync(npid, 137);
            }

            await stop.WaitAsync(Bound);
        }
    }
}
