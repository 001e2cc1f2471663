using System.Text;
using System.Text.Json;
using Nefele.Client;
using Nefele.Processes;
using Xunit;

namespace Nefele.Cluster.Tests;

public sealed partial class ClusterTests
{
    [Fact]
    public async Task Ps_through_node_1_lists_the_processes_of_every_node_with_their_node()
    {
        var tenant = await NewTenantAsync(cluster);
        var npids = new List<string>();
        try
        {
            for (var k = 1; k <= ClusterFixture.InitialNodes; k++)
            {
                npids.Add(await tenant.SpawnAsync(Sleeper(node: k)).WaitAsync(Bound));
            }

            var rows = (await cluster.GetJsonAsync($"/v1/tenants/{tenant.Name}/processes")).GetProperty("processes").EnumerateArray()
                .ToDictionary(p => p.GetProperty("npid").GetString()!, StringComparer.Ordinal);
            Assert.Equal(npids.Order(StringComparer.Ordinal), rows.Keys.Order(StringComparer.Ordinal));
            for (var k = 1; k <= ClusterFixture.InitialNodes; k++)
            {
                var row = rows[npids[k - 1]];
                Assert.Equal(ClusterFixture.NodeName(k), row.GetProperty("node").GetString());
                Assert.Equal("Running", row.GetProperty("state").GetString());
                Assert.True(row.GetProperty("pid").GetInt32() > 0);
            }
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npids);
        }
    }

    [Fact]
    public async Task Logs_monitor_and_kill_of_a_process_on_node_2_through_node_1()
    {
        var tenant = await NewTenantAsync(cluster);
        var marker = "hello-" + Guid.NewGuid().ToString("N")[..8];
        var npid = await tenant.SpawnAsync(new ProcessSpec
        {
            Path = "/bin/sh",
            Args = ["-c", $"echo {marker}; exec sleep 300"],
            Affinity = ["label:zone=b"],
        }).WaitAsync(Bound);
        try
        {
            var path = $"/v1/tenants/{tenant.Name}/processes/{npid}";
            var info = await cluster.GetJsonAsync(path);
            Assert.Equal(ClusterFixture.NodeName(2), info.GetProperty("node").GetString());

            // Logs, read on node 2, served by node 1.
            await Eventually.Until(async () => (await cluster.Http.GetStringAsync(path + "/logs")).Contains(marker, StringComparison.Ordinal),
                Bound, $"logs of {npid} through node 1 show {marker}");

            // Monitor through node 1 (SSE), then kill through node 1: the stream ends with the kill.
            using var cts = new CancellationTokenSource(Bound);
            using var response = await cluster.Http.GetAsync(path + "/events", HttpCompletionOption.ResponseHeadersRead, cts.Token);
            response.EnsureSuccessStatusCode();
            var events = new List<JsonElement>();
            var running = new TaskCompletionSource();
            var reader = Task.Run(async () =>
            {
                await foreach (var (name, data) in Sse.ReadAsync(response, cts.Token))
                {
                    Assert.Equal("state", name);
                    var e = JsonDocument.Parse(data).RootElement.Clone();
                    events.Add(e);
                    if (e.GetProperty("state").GetString() == "Running")
                    {
                        running.TrySetResult();
                    }
                }

                running.TrySetResult();
            }, cts.Token);
            await running.Task.WaitAsync(cts.Token);

            var (status, body) = await cluster.PostJsonAsync(path + "/signal", new { signal = Signals.SigKill });
            Assert.True(status == 204, $"signal: {status} {body}");
            await reader.WaitAsync(cts.Token);

            var last = events[^1];
            Assert.Equal("Exited", last.GetProperty("state").GetString());
            Assert.Equal(Signals.SigKill, last.GetProperty("end").GetProperty("signal").GetInt32());
            Assert.Equal(ClusterFixture.NodeName(2), last.GetProperty("node").GetString());

            var end = await tenant.WaitAsync(npid).WaitAsync(Bound);
            Assert.Equal("killed by SIGKILL", end.Describe());
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npid);
        }
    }

    [Fact]
    public async Task Nef_inside_a_process_on_node_2_spawns_onto_the_cluster()
    {
        var nefDll = Path.Combine(RepoPaths.Root, "src", "Nefele.Cli", "bin", "Release", "net10.0", "nef.dll");
        Assert.True(File.Exists(nefDll), $"{nefDll} is missing: bin/nef runs the Release build (dotnet build -c Release)");

        var tenant = await NewTenantAsync(cluster);
        var nef = Path.Combine(RepoPaths.Root, "bin", "nef");
        var outer = await tenant.SpawnAsync(new ProcessSpec
        {
            Path = "/bin/sh",
            Args = ["-c", $"'{nef}' spawn -- /bin/true"],
            Env = new Dictionary<string, string> { ["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin" },
            Affinity = ["label:zone=b"],
        }).WaitAsync(Bound);
        string? inner = null;
        try
        {
            Assert.Equal(ClusterFixture.NodeName(2), (await tenant.GetAsync(outer)).Node);
            var outerEnd = await tenant.WaitAsync(outer).WaitAsync(Bound);
            var logs = Encoding.UTF8.GetString((await tenant.ReadLogsAsync(outer)).Data).Trim();
            Assert.True(outerEnd.ExitCode == 0, $"the process running nef ended {outerEnd.Describe()}; its output: {logs}");

            inner = logs.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
            Assert.True(inner is not null && Npid.IsWellFormed(inner), $"nef inside printed: {logs}");
            Assert.NotEqual(outer, inner);

            var child = await tenant.GetAsync(inner);
            Assert.Equal("/bin/true", child.Command);
            var end = await tenant.WaitAsync(inner).WaitAsync(Bound);
            Assert.Equal("exited 0", end.Describe());
        }
        finally
        {
            await Cleanup.KillAsync(tenant, inner is null ? [outer] : [outer, inner]);
        }
    }

    [Fact]
    public async Task Nspawn_without_spread_through_node_1_returns_running_processes()
    {
        // The plain path through the REST API, for contrast with the spread and constraint tests.
        var tenant = await NewTenantAsync(cluster);
        var (status, body) = await cluster.PostJsonAsync($"/v1/tenants/{tenant.Name}/spawn", new
        {
            count = 3,
            tasks = new[] { new { path = "/bin/sleep", args = SleepArgs } },
        });
        var npids = body is { } b && b.TryGetProperty("npids", out var n) ? n.EnumerateArray().Select(x => x.GetString()!).ToList() : [];
        try
        {
            Assert.True(status == 200, $"spawn: {status} {body}");
            Assert.Equal(3, npids.Count);
            var infos = await Task.WhenAll(npids.Select(n => tenant.GetAsync(n)));
            Assert.All(infos, i => Assert.Equal(ProcessState.Running, i.State));
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npids);
        }
    }
}
