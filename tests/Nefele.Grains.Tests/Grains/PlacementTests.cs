using Nefele.Client;
using Nefele.Errors;
using Nefele.Grains.Tests.Support;
using Nefele.Placement;
using Nefele.Processes;

namespace Nefele.Grains.Tests.Grains;

public class PlacementTests(ClusterFixture cluster) : ClusterTest(cluster)
{
    private const long GiB = 1L << 30;

    private static readonly ProcessSpec HalfCore = new() { Path = "/bin/sleep", Args = ["60"], CpuMillis = 500 };

    [Fact]
    public async Task Same_request_id_returns_the_same_npids_and_launches_once()
    {
        var request = new SpawnRequest { Tasks = [HalfCore], Count = 2 };
        var first = await Tenant.SubmitAsync(request, "req-1");
        var second = await Tenant.SubmitAsync(request, "req-1");

        Assert.Equal(2, first.Npids.Count);
        Assert.Equal(first.Npids, second.Npids);
        Assert.All(first.Npids, n => Assert.Equal(1, Cluster.Channel.LaunchCount(n)));
        Assert.Equal(2, Cluster.Channel.Launches.Count(l => l.Tenant == Tenant.Name));
        Assert.Equal(1000, (await Cluster.NodeGrain.GetCapacityAsync()).ReservedCpuMillis);
    }

    [Fact]
    public async Task Retry_reaching_a_new_activation_returns_the_stored_admission_without_launching_again()
    {
        var request = new SpawnRequest { Tasks = [HalfCore], Count = 2 };
        var first = await Tenant.SubmitAsync(request, "req-survives");

        // The request's activation goes away (as with its silo); the retry meets a new one.
        await Cluster.Client.GetGrain<Orleans.Runtime.IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        var second = await Tenant.SubmitAsync(request, "req-survives");

        Assert.Equal(first.Npids, second.Npids);
        Assert.All(first.Npids, n => Assert.Equal(1, Cluster.Channel.LaunchCount(n)));
    }

    [Fact]
    public async Task Concurrent_retries_with_one_request_id_launch_once()
    {
        var request = new SpawnRequest { Tasks = [HalfCore] };
        var results = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => Tenant.SubmitAsync(request, "req-same")));

        var npid = Assert.Single(results.SelectMany(r => r.Npids).Distinct());
        Assert.Equal(1, Cluster.Channel.LaunchCount(npid));
    }

    [Fact]
    public async Task Same_request_id_for_a_different_program_is_a_conflict()
    {
        await Tenant.SubmitAsync(new SpawnRequest { Tasks = [HalfCore] }, "req-2");
        var e = await Assert.ThrowsAsync<NefeleException>(() =>
            Tenant.SubmitAsync(new SpawnRequest { Tasks = [HalfCore with { Path = "/bin/true" }] }, "req-2"));
        Assert.Equal(ErrorCodes.RequestConflict, e.Code);
    }

    [Fact]
    public async Task Same_request_id_with_different_resources_is_a_conflict()
    {
        await Tenant.SubmitAsync(new SpawnRequest { Tasks = [HalfCore] }, "req-3");
        var e = await Assert.ThrowsAsync<NefeleException>(() =>
            Tenant.SubmitAsync(new SpawnRequest { Tasks = [HalfCore with { CpuMillis = 1500 }] }, "req-3"));
        Assert.Equal(ErrorCodes.RequestConflict, e.Code);
    }

    [Fact]
    public async Task Request_ids_are_per_tenant()
    {
        var other = await Cluster.TenantAsync(Tenant.Name + "-b");
        var mine = await Tenant.SubmitAsync(new SpawnRequest { Tasks = [HalfCore] }, "shared-id");
        var theirs = await other.SubmitAsync(new SpawnRequest { Tasks = [HalfCore] }, "shared-id");
        Assert.NotEqual(mine.Npids[0], theirs.Npids[0]);
    }

    [Fact]
    public async Task Concurrent_requests_for_the_last_cpu_never_overcommit()
    {
        var (admitted, refused) = await RaceAsync(10);

        Assert.Equal(4, admitted);
        Assert.Equal(6, refused.Length);
        Assert.All(refused, e => Assert.Equal(ErrorCodes.SpawnRejected, e.Code));
        Assert.Equal(2000, (await Cluster.NodeGrain.GetCapacityAsync()).ReservedCpuMillis);
        Assert.Equal(4, (await Tenant.PsAsync()).Count);
    }

    [Fact]
    public async Task Requests_that_lose_the_race_for_the_last_cpu_are_told_cpu_ran_out()
    {
        // Every request sees the node empty before any reserves: the losers find out at reservation.
        Cluster.Offers.Arm(10);
        var (admitted, refused) = await RaceAsync(10);

        Assert.Equal(4, admitted);
        Assert.Equal(2000, (await Cluster.NodeGrain.GetCapacityAsync()).ReservedCpuMillis);
        Assert.All(refused, e => Assert.Equal(ErrorCodes.SpawnRejected, e.Code));
        Assert.All(refused, e => Assert.Contains("cpu", e.Message, StringComparison.Ordinal));
    }

    private async Task<(int Admitted, NefeleException[] Refused)> RaceAsync(int requests)
    {
        var attempts = Enumerable.Range(0, requests)
            .Select(i => Tenant.SubmitAsync(new SpawnRequest { Tasks = [HalfCore] }, $"race-{i}"))
            .ToArray();
        try
        {
            await Task.WhenAll(attempts);
        }
        catch (NefeleException)
        {
            // Inspected one by one below.
        }

        return (
            attempts.Count(a => a.IsCompletedSuccessfully),
            attempts.Where(a => a.IsFaulted).Select(a => Assert.IsType<NefeleException>(a.Exception!.InnerException)).ToArray());
    }

    [Fact]
    public async Task Nspawn_that_does_not_fit_is_rejected_whole_and_reserves_nothing()
    {
        var e = await Assert.ThrowsAsync<NefeleException>(() => Tenant.NSpawnAsync(5, HalfCore));

        Assert.Equal(ErrorCodes.SpawnRejected, e.Code);
        Assert.Contains("5 tasks asked, room for 4", e.Message, StringComparison.Ordinal);
        Assert.Contains("cpu", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Cluster.Channel.Launches, l => l.Tenant == Tenant.Name);
        Assert.Empty(await Tenant.PsAsync());
        var capacity = await Cluster.NodeGrain.GetCapacityAsync();
        Assert.Equal(0, capacity.ReservedCpuMillis);
        Assert.Equal(0, capacity.Processes);
    }

    [Fact]
    public async Task Nspawn_with_partial_admits_what_fits_and_reports_the_rest()
    {
        var result = await Tenant.SubmitAsync(new SpawnRequest { Tasks = [HalfCore], Count = 5, AllowPartial = true });

        Assert.Equal(4, result.Npids.Count);
        Assert.Single(result.Rejected);
        Assert.Contains("task 4", result.Rejected[0], StringComparison.Ordinal);
        Assert.Equal(4, (await Tenant.PsAsync()).Count);
        Assert.Equal(2000, (await Cluster.NodeGrain.GetCapacityAsync()).ReservedCpuMillis);
    }

    [Fact]
    public async Task Memory_beyond_the_node_is_rejected_naming_memory()
    {
        var e = await Assert.ThrowsAsync<NefeleException>(() =>
            Tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sleep", MemoryBytes = 8 * GiB }));

        Assert.Equal(ErrorCodes.SpawnRejected, e.Code);
        Assert.Contains("memory: 8 GiB asked, 4 GiB free", e.Message, StringComparison.Ordinal);
        Assert.Empty(await Tenant.PsAsync());
    }

    [Fact]
    public async Task Bad_spec_is_a_bad_request_and_reserves_nothing()
    {
        var e = await Assert.ThrowsAsync<NefeleException>(() => Tenant.SpawnAsync(HalfCore with { Path = "bin/sleep" }));
        Assert.Equal(ErrorCodes.BadRequest, e.Code);
        Assert.Contains("path bin/sleep is not absolute", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, (await Cluster.NodeGrain.GetCapacityAsync()).ReservedCpuMillis);
    }

    [Fact]
    public async Task Cspawn_with_one_rejected_launch_is_rejected_whole()
    {
        var specs = new[] { HalfCore, HalfCore with { Path = RecordingHostAgentChannel.RejectedPath } };
        var e = await Assert.ThrowsAsync<NefeleException>(() => Tenant.CSpawnAsync(specs));

        Assert.Equal(ErrorCodes.SpawnRejected, e.Code);
        var started = Cluster.Channel.Launches.Where(l => l.Tenant == Tenant.Name && l.Started).Select(l => l.Npid).ToArray();
        Assert.All(started, n => Assert.Contains((n, Signals.SigKill), Cluster.Channel.Signals));
    }

    [Fact]
    public async Task Partial_cspawn_keeps_the_launched_task_running_and_reports_the_rejected_one()
    {
        var specs = new[] { HalfCore, HalfCore with { Path = RecordingHostAgentChannel.RejectedPath } };
        var result = await Tenant.SubmitAsync(new SpawnRequest { Tasks = specs, AllowPartial = true });

        var npid = Assert.Single(result.Npids);
        Assert.Equal(ProcessState.Running, (await Tenant.GetAsync(npid)).State);
        Assert.DoesNotContain(Cluster.Channel.Signals, s => s.Npid == npid);
        Assert.Single(result.Rejected);
    }
}
