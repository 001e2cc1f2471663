using Nefele.Client;
using Nefele.Errors;
using Nefele.Placement;
using Nefele.Processes;
using Xunit;

namespace Nefele.Cluster.Tests;

public sealed partial class ClusterTests
{
    [Fact]
    public async Task Spread_puts_two_of_six_on_each_of_three_nodes()
    {
        var tenant = await NewTenantAsync(cluster);
        var npids = new List<string>();
        try
        {
            var result = await tenant.SubmitAsync(new SpawnRequest { Tasks = [Sleeper()], Count = 6, Spread = true }).WaitAsync(Bound);
            npids.AddRange(result.Npids);
            Assert.Equal(6, npids.Count);

            var infos = await Task.WhenAll(npids.Select(n => tenant.GetAsync(n)));
            Assert.All(infos, i => Assert.Equal(ProcessState.Running, i.State));
            var perNode = infos.GroupBy(i => i.Node!).ToDictionary(g => g.Key, g => g.Count());
            var expected = Enumerable.Range(1, ClusterFixture.InitialNodes).ToDictionary(ClusterFixture.NodeName, _ => 2);
            Assert.Equal(expected.OrderBy(kv => kv.Key), perNode.OrderBy(kv => kv.Key));
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npids);
        }
    }

    [Fact]
    public async Task Anti_affinity_by_name_puts_two_of_a_name_on_different_nodes()
    {
        var tenant = await NewTenantAsync(cluster);
        var npids = new List<string>();
        try
        {
            var spec = Sleeper(name: "x") with { AntiAffinity = ["name:x"] };
            npids.Add(await tenant.SpawnAsync(spec).WaitAsync(Bound));
            npids.Add(await tenant.SpawnAsync(spec).WaitAsync(Bound));

            var infos = await Task.WhenAll(npids.Select(n => tenant.GetAsync(n)));
            Assert.All(infos, i => Assert.Equal("x", i.Name));
            Assert.NotEqual(infos[0].Node, infos[1].Node);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npids);
        }
    }

    [Fact]
    public async Task A_gpu_task_lands_on_the_only_gpu_node_and_a_second_is_rejected_naming_gpu()
    {
        var tenant = await NewTenantAsync(cluster);
        var npids = new List<string>();
        try
        {
            var spec = Sleeper() with { Devices = new Dictionary<string, long> { ["gpu"] = 1 } };
            npids.Add(await tenant.SpawnAsync(spec).WaitAsync(Bound));
            var first = await tenant.GetAsync(npids[0]);
            Assert.Equal(ClusterFixture.NodeName(3), first.Node);
            Assert.Equal(ProcessState.Running, first.State);

            var e = await Assert.ThrowsAsync<NefeleException>(async () => npids.Add(await tenant.SpawnAsync(spec).WaitAsync(Bound)));
            Assert.Equal(ErrorCodes.SpawnRejected, e.Code);
            Assert.Contains("gpu", e.Message, StringComparison.Ordinal);
            Assert.Single(npids);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npids);
        }
    }

    [Fact]
    public async Task A_task_that_fits_no_node_is_rejected_naming_memory_and_what_was_free()
    {
        const long NineHundredGi = 900L << 30;
        var tenant = await NewTenantAsync(cluster);

        // Through the SDK.
        var e = await Assert.ThrowsAsync<NefeleException>(() =>
            tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sleep", Args = ["300"], MemoryBytes = NineHundredGi }).WaitAsync(Bound));
        Assert.Equal(ErrorCodes.SpawnRejected, e.Code);
        Assert.Contains("memory", e.Message, StringComparison.Ordinal);
        Assert.Contains("free", e.Message, StringComparison.Ordinal);
        Assert.Matches(@"memory: 900 GiB asked, .+ free of .+ on node " + ClusterFixture.Prefix + @"-n\d", e.Message);

        // Through node 1's REST API: problem details with the stable code.
        var (status, body) = await cluster.PostJsonAsync($"/v1/tenants/{tenant.Name}/spawn", new
        {
            tasks = new[] { new { path = "/bin/sleep", args = SleepArgs, memoryBytes = NineHundredGi } },
        });
        Assert.Equal(422, status);
        Assert.Equal(ErrorCodes.SpawnRejected, body!.Value.GetProperty("code").GetString());
        var detail = body.Value.GetProperty("detail").GetString()!;
        Assert.Contains("memory", detail, StringComparison.Ordinal);
        Assert.Contains("free", detail, StringComparison.Ordinal);

        Assert.Empty((await cluster.GetJsonAsync($"/v1/tenants/{tenant.Name}/processes")).GetProperty("processes").EnumerateArray());
    }
}
