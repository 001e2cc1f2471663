using Nefele.Client;
using Nefele.Errors;
using Nefele.Grains.Tests.Support;
using Nefele.Processes;

namespace Nefele.Grains.Tests.Grains;

public class TenantIsolationTests(ClusterFixture cluster) : ClusterTest(cluster)
{
    private static readonly ProcessSpec Sleep = new() { Path = "/bin/sleep", Args = ["60"], CpuMillis = 100 };

    [Fact]
    public async Task Another_tenant_sees_the_process_as_missing()
    {
        var npid = await Tenant.SpawnAsync(Sleep);
        var other = new NefeleTenant(Cluster.Client, Tenant.Name + "-other");
        var grain = Cluster.Client.GetGrain<IProcessGrain>(npid);

        Assert.Null(await grain.GetAsync(other.Name));
        Assert.Null(await grain.WatchAsync(other.Name, 0, TimeSpan.Zero));
        var signal = await Assert.ThrowsAsync<NefeleException>(() => grain.SignalAsync(other.Name, Signals.SigKill));
        Assert.Equal(ErrorCodes.NpidNotFound, signal.Code);

        Assert.Equal(ErrorCodes.NpidNotFound, (await Assert.ThrowsAsync<NefeleException>(() => other.GetAsync(npid))).Code);
        Assert.Equal(ErrorCodes.NpidNotFound, (await Assert.ThrowsAsync<NefeleException>(() => other.KillAsync(npid))).Code);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        Assert.Equal(ErrorCodes.NpidNotFound, (await Assert.ThrowsAsync<NefeleException>(() => other.WaitAsync(npid, cts.Token))).Code);
        Assert.Empty(await other.PsAsync());
        Assert.DoesNotContain(Cluster.Channel.Signals, s => s.Npid == npid);

        Assert.Equal(ProcessState.Running, (await Tenant.GetAsync(npid)).State);
    }

    [Fact]
    public async Task Unknown_and_malformed_npids_are_not_found()
    {
        Assert.Equal(ErrorCodes.NpidNotFound, (await Assert.ThrowsAsync<NefeleException>(() => Tenant.GetAsync("0000000000000"))).Code);
        Assert.Equal(ErrorCodes.NpidNotFound, (await Assert.ThrowsAsync<NefeleException>(() => Tenant.GetAsync("../etc"))).Code);
        Assert.Null(await Cluster.Client.GetGrain<IProcessGrain>("0000000000001").WatchAsync(Tenant.Name, 0, TimeSpan.Zero));
    }

    [Fact]
    public async Task Adopt_on_an_empty_record_rebuilds_a_running_process_visible_in_ps()
    {
        var npid = Npid.Encode(0x0123_4567_89ab_cdefUL);
        var startedAt = DateTimeOffset.UtcNow.AddMinutes(-5);
        var grain = Cluster.Client.GetGrain<IProcessGrain>(npid);
        try
        {
            await grain.AdoptAsync(Tenant.Name, ClusterFixture.Node, Sleep, 4242, startedAt);

            var info = await Tenant.GetAsync(npid);
            Assert.Equal(ProcessState.Running, info.State);
            Assert.Equal(4242, info.Pid);
            Assert.Equal(ClusterFixture.Node, info.Node);
            Assert.Equal(startedAt, info.StartedAt);
            Assert.Equal(npid, Assert.Single(await Tenant.PsAsync()).Npid);

            var events = await grain.WatchAsync(Tenant.Name, 0, TimeSpan.Zero);
            Assert.Equal(
                [ProcessState.Pending, ProcessState.Placed, ProcessState.Starting, ProcessState.Running],
                events!.Select(e => e.State));

            // A second report of the same process changes nothing.
            await grain.AdoptAsync(Tenant.Name, ClusterFixture.Node, Sleep, 4242, startedAt);
            Assert.Equal(4, (await grain.WatchAsync(Tenant.Name, 0, TimeSpan.Zero))!.Count);
        }
        finally
        {
            await Cluster.ExitAsync(npid);
        }

        Assert.Empty(await Tenant.PsAsync());
    }
}
