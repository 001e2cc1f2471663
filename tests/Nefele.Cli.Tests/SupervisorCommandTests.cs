using System.Text;
using System.Text.Json;
using Nefele.Testing;

namespace Nefele.Cli.Tests;

/// <summary>nef sup against the real node: a durable supervisor started from a file, listed, shown, resized and stopped.</summary>
public sealed partial class RealNodeCommandTests
{
    private const string PoolSpec = """
        {
          "name": "pool",
          "strategy": "simple_one_for_one",
          "poolSize": 2,
          "maxRestarts": 5,
          "periodSeconds": 10,
          "children": [{ "id": "w", "restart": "permanent", "shutdown": "brutal_kill", "process": { "path": "/bin/sleep", "args": ["300"] } }]
        }
        """;

    [Fact]
    public async Task Sup_start_runs_a_pool_from_a_file_that_ls_show_resize_and_stop_drive()
    {
        var tenant = await TenantAsync("sup");
        var file = Path.Combine(node.RunDir, $"{tenant}.json");
        await File.WriteAllTextAsync(file, PoolSpec);
        try
        {
            var start = await NefAsync(tenant, "sup", "start", file);
            Assert.True(start.Status == 0, start.Err + node.Log);
            Assert.Contains("name:      pool\n", start.Out, StringComparison.Ordinal);
            Assert.Contains("phase:     running\n", start.Out, StringComparison.Ordinal);
            Assert.Contains("strategy:  simple_one_for_one, pool of 2\n", start.Out, StringComparison.Ordinal);
            var first = await ChildrenAsync(tenant);
            Assert.Equal(2, first.Count);
            Assert.All(first, c => Assert.Equal("running", c.Phase));
            foreach (var c in first)
            {
                Assert.Contains($"{c.Npid}  running", start.Out, StringComparison.Ordinal);
            }

            // Its children are the tenant's processes, Running.
            Assert.Equal(2, RunningRows(await NefAsync(tenant, "ps"), [.. first.Select(c => c.Npid!)]));

            var ls = await NefAsync(tenant, "sup", "ls");
            Assert.Equal(0, ls.Status);
            var rows = ls.Out.TrimEnd('\n').Split('\n').Select(l => ColumnGap().Split(l.TrimEnd())).ToArray();
            Assert.Equal(["NAME", "PHASE", "STRATEGY", "CHILDREN", "RESTARTS", "NODE"], rows[0]);
            Assert.Equal(["pool", "running", "simple_one_for_one", "2/2", "0", node.Name], Assert.Single(rows[1..]));

            // A child killed by hand is replaced; show tells which, and how it ended.
            await NefAsync(tenant, "kill", "-9", first[0].Npid!);
            IReadOnlyList<Child> after = [];
            await Eventually.Until(async () =>
            {
                after = await ChildrenAsync(tenant);
                return after.Count == 2 && after.All(c => c.Phase == "running" && c.Npid != first[0].Npid);
            }, Bound, "the killed child replaced");
            var show = await NefAsync(tenant, "sup", "show", "pool");
            Assert.Contains("restarts:  1\n", show.Out, StringComparison.Ordinal);
            Assert.Contains("killed by SIGKILL", show.Out, StringComparison.Ordinal);

            var resize = await NefAsync(tenant, "sup", "resize", "pool", "3", "--json");
            Assert.True(resize.Status == 0, resize.Err);
            using (var json = JsonDocument.Parse(resize.Out))
            {
                Assert.Equal(3, json.RootElement.GetProperty("children").EnumerateArray().Count(c => c.GetProperty("phase").GetString() == "running"));
            }

            var all = await ChildrenAsync(tenant);
            var stop = await NefAsync(tenant, "sup", "stop", "pool");
            Assert.Equal((0, string.Empty, string.Empty), (stop.Status, stop.Out, stop.Err));
            Assert.Equal(0, RunningRows(await NefAsync(tenant, "ps"), [.. all.Select(c => c.Npid!)]));

            var gone = await NefAsync(tenant, "sup", "show", "pool");
            Assert.Equal((1, $"nef: no supervisor pool in tenant {tenant}\n"), (gone.Status, gone.Err));
            Assert.Equal("NAME  PHASE  STRATEGY  CHILDREN  RESTARTS  NODE\n", (await NefAsync(tenant, "sup", "ls")).Out);
        }
        finally
        {
            await NefAsync(tenant, "sup", "stop", "pool");
        }
    }

    [Fact]
    public async Task Sup_start_reads_the_spec_from_standard_input_and_refuses_a_bad_one_naming_what_is_wrong()
    {
        var tenant = await TenantAsync("supin");
        var unknownField = await SupStartAsync(tenant, PoolSpec.Replace("\"poolSize\"", "\"poolSise\"", StringComparison.Ordinal));
        Assert.Equal(2, unknownField.Status);
        Assert.Contains("poolSise", unknownField.Err, StringComparison.Ordinal);

        var noName = await SupStartAsync(tenant, PoolSpec.Replace("\"name\": \"pool\",", string.Empty, StringComparison.Ordinal));
        Assert.Equal((2, "nef: sup start: no name: give --name N or \"name\" in standard input\n"), (noName.Status, noName.Err));

        // The node checks the spec by the shared rules and refuses it, naming what is wrong.
        var badSize = await SupStartAsync(tenant, PoolSpec.Replace("\"poolSize\": 2", "\"poolSize\": -1", StringComparison.Ordinal));
        Assert.Equal(1, badSize.Status);
        Assert.Contains("-1", badSize.Err, StringComparison.Ordinal);

        // Nothing was started by the refused ones.
        Assert.Equal("[]\n", (await NefAsync(tenant, "sup", "ls", "--json")).Out);

        var started = await SupStartAsync(tenant, PoolSpec.Replace("\"name\": \"pool\",", string.Empty, StringComparison.Ordinal), "--name", "pool", "--json");
        try
        {
            Assert.True(started.Status == 0, started.Err);
            using var json = JsonDocument.Parse(started.Out);
            Assert.Equal("pool", json.RootElement.GetProperty("name").GetString());
            Assert.Equal("running", json.RootElement.GetProperty("phase").GetString());

            var notPool = await NefAsync(tenant, "sup", "resize", "pool", "two");
            Assert.Equal((2, "nef: sup resize: N must be a whole number of copies, not 'two'\n"), (notPool.Status, notPool.Err));
        }
        finally
        {
            await NefAsync(tenant, "sup", "stop", "pool");
        }
    }

    private Task<NefRun> SupStartAsync(string tenant, string spec, params string[] flags) =>
        NefRun.RunAsync(node.Env(tenant: tenant), new StringWriter(), Encoding.UTF8.GetBytes(spec), ["sup", "start", .. flags]).WaitAsync(Bound);

    private sealed record Child(string Id, string? Npid, string Phase);

    private async Task<IReadOnlyList<Child>> ChildrenAsync(string tenant)
    {
        var show = await NefAsync(tenant, "sup", "show", "pool", "--json");
        Assert.True(show.Status == 0, show.Err);
        using var json = JsonDocument.Parse(show.Out);
        return [.. json.RootElement.GetProperty("children").EnumerateArray().Select(c => new Child(
            c.GetProperty("id").GetString()!,
            c.TryGetProperty("npid", out var npid) && npid.ValueKind == JsonValueKind.String ? npid.GetString() : null,
            c.GetProperty("phase").GetString()!))];
    }
}
