using Nefele.Client;
using Nefele.Errors;
using Nefele.Grains.Tests.Support;
using Nefele.Processes;

namespace Nefele.Grains.Tests.Grains;

public class SpawnLifecycleTests(ClusterFixture cluster) : ClusterTest(cluster)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private static readonly ProcessSpec Sleep = new() { Path = "/bin/sleep", Args = ["60"], CpuMillis = 500, MemoryBytes = 64L << 20 };

    [Fact]
    public async Task Spawn_reaches_running_and_monitor_sees_each_step_once_in_order()
    {
        var npid = await Tenant.SpawnAsync(Sleep);

        var info = await Tenant.GetAsync(npid);
        Assert.Equal(ProcessState.Running, info.State);
        Assert.Equal(ClusterFixture.Node, info.Node);
        Assert.True(info.Pid > 0);
        Assert.Equal("/bin/sleep 60", info.Command);

        using var cts = new CancellationTokenSource(Bound);
        var events = new List<ProcessEvent>();
        await using var monitor = Tenant.MonitorAsync(npid, 0, cts.Token).GetAsyncEnumerator(cts.Token);
        for (var i = 0; i < 4; i++)
        {
            Assert.True(await monitor.MoveNextAsync());
            events.Add(monitor.Current);
        }

        Assert.Equal([ProcessState.Pending, ProcessState.Placed, ProcessState.Starting, ProcessState.Running], events.Select(e => e.State));
        Assert.Equal([1L, 2, 3, 4], events.Select(e => e.Seq));
        Assert.All(events, e => Assert.Equal(npid, e.Npid));
        Assert.Equal(info.Pid, events[3].Pid);

        await Cluster.ExitAsync(npid, 3);
        Assert.True(await monitor.MoveNextAsync());
        Assert.Equal(ProcessState.Exited, monitor.Current.State);
        Assert.Equal(5, monitor.Current.Seq);
        Assert.Equal("exited 3", monitor.Current.End!.Describe());
        Assert.False(await monitor.MoveNextAsync());
    }

    [Fact]
    public async Task Replayed_exit_publishes_nothing_more()
    {
        var npid = await Tenant.SpawnAsync(Sleep);
        await Cluster.ExitAsync(npid, 3);
        await Cluster.ExitAsync(npid, 4);
        await Cluster.Client.GetGrain<IProcessGrain>(npid).MarkLostAsync("node gone");

        var events = await Cluster.Client.GetGrain<IProcessGrain>(npid).WatchAsync(Tenant.Name, 0, TimeSpan.Zero);
        Assert.NotNull(events);
        Assert.Equal(5, events.Count);
        Assert.Single(events, e => e.State == ProcessState.Exited);
        Assert.Equal(3, events[4].End!.ExitCode);

        var after = await Cluster.Client.GetGrain<IProcessGrain>(npid).WatchAsync(Tenant.Name, 5, TimeSpan.FromMilliseconds(200));
        Assert.NotNull(after);
        Assert.Empty(after);
        Assert.Equal(3, (await Tenant.GetAsync(npid)).End!.ExitCode);
    }

    [Fact]
    public async Task Monitor_of_ended_process_gets_every_event_at_once_and_ends()
    {
        var npid = await Tenant.SpawnAsync(Sleep);
        await Cluster.ExitAsync(npid, 0);

        using var cts = new CancellationTokenSource(Bound);
        var events = new List<ProcessEvent>();
        await foreach (var e in Tenant.MonitorAsync(npid, 0, cts.Token))
        {
            events.Add(e);
        }

        Assert.Equal(
            [ProcessState.Pending, ProcessState.Placed, ProcessState.Starting, ProcessState.Running, ProcessState.Exited],
            events.Select(e => e.State));
        Assert.Equal([1L, 2, 3, 4, 5], events.Select(e => e.Seq));
        Assert.Equal("exited 0", (await Tenant.WaitAsync(npid, cts.Token)).Describe());
    }

    [Fact]
    public async Task Monitor_resumed_after_the_last_event_of_an_ended_process_ends()
    {
        var npid = await Tenant.SpawnAsync(Sleep);
        await Cluster.ExitAsync(npid, 0);

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        var events = new List<ProcessEvent>();
        await foreach (var e in Tenant.MonitorAsync(npid, 5, cts.Token))
        {
            events.Add(e);
        }

        Assert.Empty(events);
    }

    [Fact]
    public async Task Rejected_launch_throws_and_leaves_no_record_and_no_reservation()
    {
        var spec = Sleep with { Path = RecordingHostAgentChannel.RejectedPath };

        var e = await Assert.ThrowsAsync<NefeleException>(() => Tenant.SpawnAsync(spec));
        Assert.Equal(ErrorCodes.SpawnRejected, e.Code);
        Assert.Contains("no such file", e.Message, StringComparison.Ordinal);

        var npid = Assert.Single(Cluster.Channel.Launches, l => l.Tenant == Tenant.Name).Npid;
        var missing = await Assert.ThrowsAsync<NefeleException>(() => Tenant.GetAsync(npid));
        Assert.Equal(ErrorCodes.NpidNotFound, missing.Code);
        Assert.Empty(await Tenant.PsAsync());

        var capacity = await Cluster.NodeGrain.GetCapacityAsync();
        Assert.Equal(0, capacity.ReservedCpuMillis);
        Assert.Equal(0, capacity.ReservedMemoryBytes);
    }

    [Fact]
    public async Task Failed_launch_ends_in_failed_to_start_with_the_reason()
    {
        var thrown = await Assert.ThrowsAsync<NefeleException>(() => Tenant.SpawnAsync(Sleep with { Path = RecordingHostAgentChannel.FailingPath }));
        Assert.Equal(ErrorCodes.FailedToStart, thrown.Code);
        Assert.Contains(RecordingHostAgentChannel.FailureReason, thrown.Message, StringComparison.Ordinal);
        var npid = thrown.Message.Split(' ')[0];

        var info = await Tenant.GetAsync(npid);
        Assert.Equal(ProcessState.FailedToStart, info.State);
        Assert.Equal(RecordingHostAgentChannel.FailureReason, info.End!.Reason);
        Assert.Equal("failed to start: " + RecordingHostAgentChannel.FailureReason, info.End.Describe());
        Assert.Empty(await Tenant.PsAsync());
        Assert.Equal(0, (await Cluster.NodeGrain.GetCapacityAsync()).ReservedCpuMillis);

        using var cts = new CancellationTokenSource(Bound);
        var end = await Tenant.WaitAsync(npid, cts.Token);
        Assert.Equal(ProcessState.FailedToStart, end.State);
    }

    [Fact]
    public async Task Running_process_is_listed_by_ps_and_unlisted_after_exit()
    {
        var npid = await Tenant.SpawnAsync(Sleep with { Name = "sleeper" });

        var row = Assert.Single(await Tenant.PsAsync());
        Assert.Equal(npid, row.Npid);
        Assert.Equal("sleeper", row.Name);
        Assert.Equal(500, row.CpuMillis);
        Assert.Equal(500, (await Cluster.NodeGrain.GetCapacityAsync()).ReservedCpuMillis);

        await Cluster.ExitAsync(npid);
        Assert.Empty(await Tenant.PsAsync());
        Assert.Equal(0, (await Cluster.NodeGrain.GetCapacityAsync()).ReservedCpuMillis);
    }

    [Fact]
    public async Task Signal_reaches_the_node()
    {
        var npid = await Tenant.SpawnAsync(Sleep);
        await Tenant.KillAsync(npid, Signals.SigTerm);
        Assert.Contains((npid, Signals.SigTerm), Cluster.Channel.Signals);
    }

    [Fact]
    public async Task Signal_of_an_ended_process_is_not_running()
    {
        var npid = await Tenant.SpawnAsync(Sleep);
        await Cluster.ExitAsync(npid);

        var e = await Assert.ThrowsAsync<NefeleException>(() => Tenant.KillAsync(npid, Signals.SigKill));
        Assert.Equal(ErrorCodes.NotRunning, e.Code);
        Assert.DoesNotContain(Cluster.Channel.Signals, s => s.Npid == npid);
    }

    [Fact]
    public async Task Signal_out_of_range_is_a_bad_request()
    {
        var npid = await Tenant.SpawnAsync(Sleep);
        var e = await Assert.ThrowsAsync<NefeleException>(() => Tenant.KillAsync(npid, 65));
        Assert.Equal(ErrorCodes.BadRequest, e.Code);
    }
}
