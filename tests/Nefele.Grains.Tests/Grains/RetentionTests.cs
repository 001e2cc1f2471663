using Nefele.Client;
using Nefele.Errors;
using Nefele.Grains.Tests.Support;
using Nefele.Placement;
using Nefele.Processes;
using Nefele.Tenants;
using Nefele.Validation;

namespace Nefele.Grains.Tests.Grains;

/// <summary>
/// Retention of ended processes and spawn requests. The test silo keeps the last
/// <see cref="ClusterFixture.RetainedPerTenant"/> per tenant, or one hour (the default); the
/// hour is passed by pushing the silo's clock forward, and a collection round is asked for
/// directly rather than waited for.
/// </summary>
public class RetentionTests(ClusterFixture cluster) : ClusterTest(cluster)
{
    private static readonly TimeSpan PastAge = TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1);

    private static readonly ProcessSpec Sleep = new() { Path = "/bin/sleep", Args = ["60"], CpuMillis = 10, MemoryBytes = 1L << 20 };

    private ITenantGrain TenantGrain => Cluster.Client.GetGrain<ITenantGrain>(Tenant.Name);

    [Fact]
    public async Task Ended_process_past_the_age_is_removed_from_storage_and_index_and_answers_not_found_saying_it_was_collected()
    {
        const string requestId = "retention-age";
        var npid = await Tenant.SpawnAsync(Sleep, requestId);
        var request = Cluster.Client.GetGrain<IPlacementRequestGrain>(GrainKeys.PlacementRequest(Tenant.Name, requestId));
        await Cluster.ExitAsync(npid, 0);
        Assert.Equal(ProcessState.Exited, (await Tenant.GetAsync(npid)).State);
        Assert.True(await Cluster.StoredAsync<ProcessRecord>("process", Cluster.Client.GetGrain<IProcessGrain>(npid)));
        Assert.True(await Cluster.StoredAsync<PlacementRecord>("placement", request));

        Cluster.Time.Advance(PastAge);
        await TenantGrain.CollectAsync();

        var e = await Assert.ThrowsAsync<NefeleException>(() => Tenant.GetAsync(npid));
        Assert.Equal(ErrorCodes.NpidNotFound, e.Code);
        Assert.Contains("collected", e.Message, StringComparison.Ordinal);
        Assert.False(await Cluster.StoredAsync<ProcessRecord>("process", Cluster.Client.GetGrain<IProcessGrain>(npid)));
        Assert.False(await Cluster.StoredAsync<PlacementRecord>("placement", request));
        Assert.DoesNotContain(npid, await TenantGrain.ListAsync(includeEnded: true));

        // Signal and monitor say the same; an NPID that never was gets no such hint.
        var signal = await Assert.ThrowsAsync<NefeleException>(() => Tenant.KillAsync(npid));
        Assert.Equal(ErrorCodes.NpidNotFound, signal.Code);
        Assert.Contains("collected", signal.Message, StringComparison.Ordinal);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var monitor = await Assert.ThrowsAsync<NefeleException>(async () =>
        {
            await foreach (var _ in Tenant.MonitorAsync(npid, 0, cts.Token))
            {
            }
        });
        Assert.Contains("collected", monitor.Message, StringComparison.Ordinal);
        var never = Npid.Encode((1UL << 63) + 12345);
        var unknown = await Assert.ThrowsAsync<NefeleException>(() => Tenant.GetAsync(never));
        Assert.Equal(ErrorCodes.NpidNotFound, unknown.Code);
        Assert.DoesNotContain("collected", unknown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Past_the_count_the_oldest_ended_go_first_and_the_rest_stay_readable()
    {
        const int over = 5;
        var npids = await Tenant.NSpawnAsync(ClusterFixture.RetainedPerTenant + over, Sleep);
        foreach (var npid in npids)
        {
            await Cluster.ExitAsync(npid, 0);
        }

        await TenantGrain.CollectAsync();

        foreach (var gone in npids.Take(over))
        {
            var e = await Assert.ThrowsAsync<NefeleException>(() => Tenant.GetAsync(gone));
            Assert.Equal(ErrorCodes.NpidNotFound, e.Code);
            Assert.Contains("collected", e.Message, StringComparison.Ordinal);
            Assert.False(await Cluster.StoredAsync<ProcessRecord>("process", Cluster.Client.GetGrain<IProcessGrain>(gone)));
        }

        foreach (var kept in npids.Skip(over))
        {
            Assert.Equal(ProcessState.Exited, (await Tenant.GetAsync(kept)).State);
        }

        Assert.Equal(npids.Skip(over).Order(StringComparer.Ordinal), (await Tenant.PsAsync(all: true)).Select(p => p.Npid));
    }

    [Fact]
    public async Task Index_past_one_page_survives_reactivation_and_an_emptied_page_leaves_storage()
    {
        // Pages hold 256 live NPIDs, filled in the order indexed: 600 make three pages.
        const int pageSize = 256;
        var tiny = Sleep with { CpuMillis = 1, MemoryBytes = 1L << 20 };
        var npids = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            npids.AddRange(await Tenant.NSpawnAsync(100, tiny));
        }

        var firstPage = npids.Take(pageSize).ToArray();
        foreach (var npid in firstPage)
        {
            await Cluster.ExitAsync(npid, 0);
        }

        var live = npids.Skip(pageSize).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(live, await TenantGrain.ListAsync());

        // The tenant's activation goes away (as with its silo); a new one reads its pages back.
        await Cluster.Client.GetGrain<Orleans.Runtime.IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        Assert.Equal(live, await TenantGrain.ListAsync());
        Assert.False(await Cluster.StoredAsync<TenantPage>("tenant-page", GrainId.Create("nefele-tenant-page", $"{Tenant.Name}/live/0")));
        Assert.True(await Cluster.StoredAsync<TenantPage>("tenant-page", GrainId.Create("nefele-tenant-page", $"{Tenant.Name}/live/1")));

        // Quotas count exactly the live processes, and one more end still reaches the index.
        Assert.Equal(live.Length, (await Tenant.PsAsync()).Count(p => p.State == ProcessState.Running));
        await Cluster.ExitAsync(live[0], 0);
        Assert.Equal(live.Skip(1), await TenantGrain.ListAsync());

        // Of the 257 ended, the last ones up to the count are kept, across the retained pages.
        await TenantGrain.CollectAsync();
        var kept = firstPage.Append(live[0]).TakeLast(ClusterFixture.RetainedPerTenant);
        Assert.Equal(live.Skip(1).Concat(kept).Order(StringComparer.Ordinal), await TenantGrain.ListAsync(includeEnded: true));
    }

    [Fact]
    public async Task Running_process_is_never_collected()
    {
        var npid = await Tenant.SpawnAsync(Sleep);
        Cluster.Time.Advance(PastAge);
        await TenantGrain.CollectAsync();
        await Cluster.Client.GetGrain<IProcessGrain>(npid).CollectAsync();

        Assert.Equal(ProcessState.Running, (await Tenant.GetAsync(npid)).State);
        Assert.Contains(npid, await TenantGrain.ListAsync());
    }

    [Fact]
    public async Task Request_id_is_idempotent_within_retention_and_fresh_after_it()
    {
        const string requestId = "retention-idempotent";
        var first = await Tenant.SpawnAsync(Sleep, requestId);
        await Cluster.ExitAsync(first, 0);
        await TenantGrain.CollectAsync();

        Assert.Equal(first, await Tenant.SpawnAsync(Sleep, requestId));
        Assert.Single(Cluster.Channel.Launches, l => l.Npid == first);

        Cluster.Time.Advance(PastAge);
        await TenantGrain.CollectAsync();

        var second = await Tenant.SpawnAsync(Sleep, requestId);
        Assert.NotEqual(first, second);
        Assert.Equal(ProcessState.Running, (await Tenant.GetAsync(second)).State);
    }
}
