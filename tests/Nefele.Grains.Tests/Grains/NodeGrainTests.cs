using Nefele.Client;
using Nefele.Grains.Tests.Support;
using Nefele.Placement;

namespace Nefele.Grains.Tests.Grains;

public class NodeGrainTests(ClusterFixture cluster) : ClusterTest(cluster)
{
    private static readonly ResourceAsk Core = new(1000, 1L << 30);

    [Fact]
    public async Task Capacity_is_the_machine_less_the_reserve()
    {
        var capacity = await Cluster.NodeGrain.GetCapacityAsync();
        Assert.Equal(ClusterFixture.Node, capacity.Node);
        Assert.Equal(RecordingHostAgentChannel.Cpus * 1000L, capacity.CpuMillis);
        Assert.Equal(RecordingHostAgentChannel.MemoryBytes, capacity.MemoryBytes);
        Assert.True(capacity.HostAgentAttached);
        Assert.Equal("recording", capacity.Engine);
    }

    [Fact]
    public async Task Reservation_that_does_not_fit_is_refused_whole()
    {
        var node = Cluster.NodeGrain;
        Assert.False(await node.ReserveAsync([("x1", Core), ("x2", Core), ("x3", Core)], TimeSpan.FromMinutes(1)));
        Assert.Equal(0, (await node.GetCapacityAsync()).ReservedCpuMillis);
    }

    [Fact]
    public async Task Expired_lease_frees_the_capacity()
    {
        var node = Cluster.NodeGrain;
        try
        {
            Assert.True(await node.ReserveAsync([("lease-1", Core), ("lease-2", Core)], TimeSpan.FromSeconds(5)));
            Assert.Equal(0, (await node.OfferAsync([Core])).Fits);

            Cluster.Time.Advance(TimeSpan.FromSeconds(6));

            var offer = await node.OfferAsync([Core]);
            Assert.Equal(1, offer.Fits);
            Assert.Equal(2000, offer.FreeCpuMillis);
            Assert.Equal(0, (await node.GetCapacityAsync()).ReservedCpuMillis);
        }
        finally
        {
            await node.ReleaseAsync("lease-1");
            await node.ReleaseAsync("lease-2");
        }
    }

    [Fact]
    public async Task Committed_reservation_outlives_its_lease()
    {
        var node = Cluster.NodeGrain;
        try
        {
            Assert.True(await node.ReserveAsync([("commit-1", Core)], TimeSpan.FromSeconds(5)));
            await node.CommitAsync("commit-1");

            Cluster.Time.Advance(TimeSpan.FromSeconds(6));

            Assert.Equal(1000, (await node.GetCapacityAsync()).ReservedCpuMillis);
            await node.ReleaseAsync("commit-1");
            Assert.Equal(0, (await node.GetCapacityAsync()).ReservedCpuMillis);
        }
        finally
        {
            await node.ReleaseAsync("commit-1");
        }
    }

    [Fact]
    public async Task Tracked_process_counts_even_when_it_overcommits()
    {
        var node = Cluster.NodeGrain;
        try
        {
            await node.TrackAsync("tracked-1", new ResourceAsk(3000, 0));
            Assert.Equal(3000, (await node.GetCapacityAsync()).ReservedCpuMillis);
            Assert.Equal(0, (await node.OfferAsync([new ResourceAsk(100, 0)])).Fits);
        }
        finally
        {
            await node.ReleaseAsync("tracked-1");
        }
    }

    [Fact]
    public async Task Launch_after_the_lease_ran_out_takes_the_capacity_again_when_free()
    {
        var node = Cluster.NodeGrain;
        var spec = new Nefele.Client.ProcessSpec { Path = "/bin/sleep", CpuMillis = 1000 };
        try
        {
            Assert.True(await node.ReserveAsync([("late-1", new ResourceAsk(1000, 0))], TimeSpan.FromSeconds(5)));
            Cluster.Time.Advance(TimeSpan.FromSeconds(6));

            var outcome = await node.LaunchAsync("late-1", Tenant.Name, spec, Nefele.Tenants.RunAs.Root);

            Assert.True(outcome.Started);
            Assert.Equal(1000, (await node.GetCapacityAsync()).ReservedCpuMillis);
        }
        finally
        {
            await node.ReleaseAsync("late-1");
        }
    }

    [Fact]
    public async Task Launch_after_the_lease_ran_out_is_rejected_when_the_room_was_taken()
    {
        var node = Cluster.NodeGrain;
        try
        {
            await node.TrackAsync("occupant", new ResourceAsk(2000, 0));

            var e = await Assert.ThrowsAsync<Nefele.Client.NefeleException>(() =>
                node.LaunchAsync("late-2", Tenant.Name, new Nefele.Client.ProcessSpec { Path = "/bin/sleep", CpuMillis = 500 }, Nefele.Tenants.RunAs.Root));

            Assert.Equal(Nefele.Client.ErrorCodes.SpawnRejected, e.Code);
            Assert.Contains("reservation expired", e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(Cluster.Channel.Launches, l => l.Npid == "late-2");
            Assert.Equal(2000, (await node.GetCapacityAsync()).ReservedCpuMillis);
        }
        finally
        {
            await node.ReleaseAsync("occupant");
            await node.ReleaseAsync("late-2");
        }
    }
}
