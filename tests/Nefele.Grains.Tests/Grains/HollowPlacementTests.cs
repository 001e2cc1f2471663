using Nefele.Client;
using Nefele.Errors;
using Nefele.Grains.Tests.Support;
using Nefele.Placement;
using Nefele.Processes;

namespace Nefele.Grains.Tests.Grains;

/// <summary>Placement over many nodes, made real grains by hollow nodes in the test silo.</summary>
public class HollowPlacementTests(ClusterFixture cluster) : HollowClusterTest(cluster)
{
    private static readonly ProcessSpec OneCore = new() { Path = "/bin/sleep", Args = ["60"], CpuMillis = 1000, MemoryBytes = 64 << 20 };

    [Fact]
    public async Task Spread_puts_four_tasks_on_four_nodes()
    {
        await AddHollowAsync(4);
        var result = await Tenant.SubmitAsync(new SpawnRequest { Tasks = [OneCore], Count = 4, Spread = true });

        var nodes = await Task.WhenAll(result.Npids.Select(NodeOfAsync));
        Assert.Equal(4, nodes.Distinct().Count());
        Assert.All(nodes, n => Assert.StartsWith("hollow-", n, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_spread_tasks_pack_onto_the_best_node()
    {
        await AddHollowAsync(4);
        var result = await Tenant.SubmitAsync(new SpawnRequest { Tasks = [OneCore with { CpuMillis = 500 }], Count = 4 });

        Assert.Single((await Task.WhenAll(result.Npids.Select(NodeOfAsync))).Distinct());
    }

    [Fact]
    public async Task Spread_over_hundreds_of_hollow_nodes_uses_a_distinct_node_per_task()
    {
        await AddHollowAsync(500);
        var result = await Tenant.SubmitAsync(new SpawnRequest { Tasks = [OneCore], Count = 40, Spread = true });

        Assert.Equal(40, (await Task.WhenAll(result.Npids.Select(NodeOfAsync))).Distinct().Count());
    }

    [Fact]
    public async Task Anti_affinity_by_name_avoids_nodes_running_that_name_and_rejects_when_none_is_left()
    {
        await AddHollowAsync(2);
        var web = OneCore with { Name = "web", AntiAffinity = ["name:web"] };
        var first = await Tenant.SpawnAsync(web);
        var second = await Tenant.SpawnAsync(web);

        Assert.NotEqual(await NodeOfAsync(first), await NodeOfAsync(second));
        var e = await Assert.ThrowsAsync<NefeleException>(() => Tenant.SpawnAsync(web));
        Assert.Equal(ErrorCodes.SpawnRejected, e.Code);

        // The full real node is the only one left, so the shortfall is its CPU, and the message says why the others were not asked.
        Assert.Contains("not enough cpu", e.Message, StringComparison.Ordinal);
        Assert.Contains("anti-affinity name:web passed over 2 of 3 sampled nodes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Anti_affinity_that_excludes_every_matching_node_is_the_reason_given()
    {
        await AddHollowAsync(2, labels: new() { ["pool"] = "web" });
        var web = OneCore with { Name = "web", Affinity = ["label:pool=web"], AntiAffinity = ["name:web"] };
        await Tenant.SubmitAsync(new SpawnRequest { Tasks = [web with { AntiAffinity = [] }], Count = 2, Spread = true });

        var e = await Assert.ThrowsAsync<NefeleException>(() => Tenant.SpawnAsync(web));
        Assert.Equal(ErrorCodes.SpawnRejected, e.Code);
        Assert.Contains("anti-affinity name:web excludes every sampled node (2 sampled)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Affinity_to_an_npid_places_on_the_node_running_it()
    {
        await AddHollowAsync(8);
        var anchor = await Tenant.SpawnAsync(OneCore);
        var node = await NodeOfAsync(anchor);

        for (var i = 0; i < 3; i++)
        {
            var npid = await Tenant.SpawnAsync(OneCore with { Affinity = [$"npid:{anchor}"] });
            Assert.Equal(node, await NodeOfAsync(npid));
        }
    }

    [Fact]
    public async Task Affinity_to_an_npid_that_does_not_run_is_rejected_naming_it()
    {
        await AddHollowAsync(2);
        var e = await Assert.ThrowsAsync<NefeleException>(() => Tenant.SpawnAsync(OneCore with { Affinity = ["npid:0000000000000"] }));
        Assert.Equal(ErrorCodes.SpawnRejected, e.Code);
        Assert.Contains("affinity npid:0000000000000: no process 0000000000000 is running in this tenant", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Label_affinity_and_anti_affinity_choose_by_node_label()
    {
        var a = await AddHollowAsync(4, labels: new() { ["zone"] = "a" });
        var b = await AddHollowAsync(4, labels: new() { ["zone"] = "b" });

        var inB = await Tenant.NSpawnAsync(4, OneCore with { Affinity = ["label:zone=b"] });
        var notB = await Tenant.NSpawnAsync(4, OneCore with { AntiAffinity = ["label:zone=b"] });

        Assert.All(await Task.WhenAll(inB.Select(NodeOfAsync)), n => Assert.Contains(n, b));
        Assert.All(await Task.WhenAll(notB.Select(NodeOfAsync)), n => Assert.Contains(n, a));
    }

    [Fact]
    public async Task Label_no_node_carries_is_rejected_naming_the_label()
    {
        await AddHollowAsync(2, labels: new() { ["zone"] = "a" });
        var e = await Assert.ThrowsAsync<NefeleException>(() => Tenant.SpawnAsync(OneCore with { Affinity = ["label:zone=c"] }));
        Assert.Contains("no node has label zone=c: 0 of 3 sampled nodes carry it", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Device_tasks_go_to_nodes_that_have_the_device_and_are_rejected_when_all_are_taken()
    {
        var gpu = await AddHollowAsync(2, devices: new() { ["gpu"] = 1 });
        await AddHollowAsync(6);
        var withGpu = OneCore with { Devices = new Dictionary<string, long> { ["gpu"] = 1 } };

        var first = await Tenant.SpawnAsync(withGpu);
        var second = await Tenant.SpawnAsync(withGpu);
        Assert.Equal(gpu.Order(), new[] { await NodeOfAsync(first), await NodeOfAsync(second) }.Order());

        var e = await Assert.ThrowsAsync<NefeleException>(() => Tenant.SpawnAsync(withGpu));
        Assert.Contains("not enough device gpu: 1 asked, 0 free of 1 on node hollow-", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Device_no_node_declares_is_rejected_naming_the_device_and_the_nodes_sampled()
    {
        await AddHollowAsync(2);
        var e = await Assert.ThrowsAsync<NefeleException>(() =>
            Tenant.SpawnAsync(OneCore with { Devices = new Dictionary<string, long> { ["gpu"] = 1 } }));
        Assert.Equal(ErrorCodes.SpawnRejected, e.Code);
        Assert.Contains("no node has device gpu: 0 of 3 sampled nodes declare it", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tasks_without_devices_keep_off_device_nodes_when_others_have_room()
    {
        var plain = await AddHollowAsync(1);
        await AddHollowAsync(1, devices: new() { ["gpu"] = 4 });

        var npid = await Tenant.SpawnAsync(OneCore);
        Assert.Equal(plain[0], await NodeOfAsync(npid));
    }

    [Fact]
    public async Task Memory_short_on_every_node_is_rejected_naming_memory_and_what_was_free()
    {
        await AddHollowAsync(2, memoryBytes: GiB);
        var e = await Assert.ThrowsAsync<NefeleException>(() => Tenant.SpawnAsync(OneCore with { MemoryBytes = 2 * GiB }));
        Assert.Contains("not enough memory: 2 GiB asked, 1 GiB free of 1 GiB on node hollow-", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Spread_with_partial_admits_one_task_per_node_that_has_room_and_reports_the_rest()
    {
        await AddHollowAsync(3, cpuMillis: 1000);
        var result = await Tenant.SubmitAsync(new SpawnRequest { Tasks = [OneCore], Count = 5, Spread = true, AllowPartial = true });

        Assert.Equal(3, result.Npids.Count);
        Assert.Equal(3, (await Task.WhenAll(result.Npids.Select(NodeOfAsync))).Distinct().Count());
        Assert.Equal(2, result.Rejected.Count);
        Assert.All(result.Rejected, r => Assert.Contains("cpu", r, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Retry_of_a_spread_request_returns_the_same_npids_and_reserves_once()
    {
        var nodes = await AddHollowAsync(4);
        var request = new SpawnRequest { Tasks = [OneCore], Count = 4, Spread = true };
        var first = await Tenant.SubmitAsync(request, "spread-1");
        var second = await Tenant.SubmitAsync(request, "spread-1");

        Assert.Equal(first.Npids, second.Npids);
        var reserved = await Task.WhenAll(nodes.Select(CapacityAsync));
        Assert.Equal(4000, reserved.Sum(c => c.ReservedCpuMillis));
    }

    [Fact]
    public async Task Racing_admissions_never_overcommit_devices()
    {
        var nodes = await AddHollowAsync(2, devices: new() { ["gpu"] = 2 });
        var withGpu = OneCore with { CpuMillis = 100, Devices = new Dictionary<string, long> { ["gpu"] = 1 } };

        Cluster.Offers.Arm(10);
        var attempts = Enumerable.Range(0, 10).Select(i => Tenant.SubmitAsync(new SpawnRequest { Tasks = [withGpu] }, $"gpu-race-{i}")).ToArray();
        try
        {
            await Task.WhenAll(attempts);
        }
        catch (NefeleException)
        {
            // Inspected below.
        }

        Assert.Equal(4, attempts.Count(a => a.IsCompletedSuccessfully));
        Assert.All(attempts.Where(a => a.IsFaulted), a => Assert.Equal(ErrorCodes.SpawnRejected, ((NefeleException)a.Exception!.InnerException!).Code));
        var capacity = await Task.WhenAll(nodes.Select(CapacityAsync));
        Assert.All(capacity, c => Assert.Equal(2, c.ReservedDevices.GetValueOrDefault("gpu")));
    }

    [Fact]
    public async Task A_heavily_loaded_node_is_passed_over_for_a_quiet_one()
    {
        await AddHollowAsync(1, load: 0.95);
        var quiet = await AddHollowAsync(1, load: 0.1);

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(quiet[0], await NodeOfAsync(await Tenant.SpawnAsync(OneCore)));
        }
    }

    [Fact]
    public async Task Kill_on_a_hollow_node_ends_the_process_and_frees_its_room()
    {
        var node = (await AddHollowAsync(1))[0];
        var npid = await Tenant.SpawnAsync(OneCore);
        var info = await Tenant.GetAsync(npid);
        Assert.True(info.Pid < 0);

        await Tenant.KillAsync(npid, Signals.SigKill);
        var end = await Tenant.WaitAsync(npid).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(Signals.SigKill, end.Signal);
        Assert.Equal(0, (await CapacityAsync(node)).ReservedCpuMillis);
    }

    [Fact]
    public async Task Removing_hollow_nodes_ends_their_processes_as_lost()
    {
        await AddHollowAsync(2);
        var npid = await Tenant.SpawnAsync(OneCore);

        Assert.Equal(2, await Directory.RemoveHollowAsync());
        var end = await Tenant.WaitAsync(npid).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(ProcessState.Lost, end.State);
    }

    [Fact]
    public async Task A_hollow_node_reports_its_declared_machine_through_its_simulated_host_agent()
    {
        var node = (await AddHollowAsync(1, cpuMillis: 2500, memoryBytes: 3 * GiB, labels: new() { ["zone"] = "z1" }, devices: new() { ["gpu"] = 2 }))[0];

        var capacity = await CapacityAsync(node);

        Assert.True(capacity.Hollow);
        Assert.True(capacity.HostAgentAttached);
        Assert.Equal("hollow", capacity.Engine);
        Assert.Equal(2500, capacity.CpuMillis);
        Assert.Equal(3 * GiB, capacity.MemoryBytes);
        Assert.Equal("z1", capacity.Labels["zone"]);
        Assert.Equal(2, capacity.Devices["gpu"]);
    }

    [Fact]
    public async Task A_hollow_process_has_no_output_keeps_running_on_other_signals_and_ends_on_sigterm()
    {
        const int SigUsr1 = 10;
        await AddHollowAsync(1);
        var npid = await Tenant.SpawnAsync(OneCore);
        var node = Cluster.Client.GetGrain<Nefele.Nodes.INodeGrain>(await NodeOfAsync(npid));

        var running = await node.ReadLogsAsync(npid, 0, 1024, TimeSpan.Zero);
        await Tenant.KillAsync(npid, SigUsr1);

        Assert.Empty(running.Data);
        Assert.False(running.Complete);
        Assert.Equal(ProcessState.Running, (await Tenant.GetAsync(npid)).State);

        await Tenant.KillAsync(npid, Signals.SigTerm);
        var end = await Tenant.WaitAsync(npid).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(Signals.SigTerm, end.Signal);
        Assert.True((await node.ReadLogsAsync(npid, 0, 1024, TimeSpan.Zero)).Complete);
    }
}
