using Nefele.Client;
using Nefele.Processes;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>bin/nef against the node's REST API, as a user types it.</summary>
public sealed class CliTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private NodeUnderTest Node => fixture.Node;

    [Fact]
    public async Task Spawn_prints_exactly_one_npid()
    {
        var (code, stdout, stderr) = await Node.NefAsync("spawn", "--", "/bin/sleep", "100");
        var lines = Lines(stdout);
        var tenant = await Node.SdkAsync();
        try
        {
            Assert.True(code == 0, stderr);
            var npid = Assert.Single(lines);
            Assert.True(Npid.IsWellFormed(npid), npid);
            Assert.Equal(ProcessState.Running, (await tenant.GetAsync(npid)).State);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, lines.Where(Npid.IsWellFormed));
        }
    }

    [Fact]
    public async Task Spawn_wait_prints_the_output_of_a_process_running_as_a_non_root_uid()
    {
        var (code, stdout, stderr) = await Node.NefAsync("spawn", "--wait", "--", "/usr/bin/id", "-u");
        Assert.True(code == 0, stderr);
        var uid = int.Parse(stdout.Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.NotEqual(0, uid);
        Assert.Contains("exited 0", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Spawn_rlimit_sets_the_processes_resource_limit_and_an_unknown_one_is_refused()
    {
        var (code, stdout, stderr) = await Node.NefAsync("spawn", "--wait", "--rlimit", "nofile=256", "--", "/bin/sh", "-c", "ulimit -n");
        Assert.True(code == 0, stderr);
        Assert.Equal("256", stdout.Trim());

        var refused = await Node.NefAsync("spawn", "--rlimit", "stack=1", "--", "/bin/true");
        Assert.Equal(1, refused.Code);
        Assert.Contains("rlimit 'stack'", refused.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Spawn_wait_exits_with_the_process_status()
    {
        var (code, stdout, stderr) = await Node.NefAsync("spawn", "--wait", "--", "/bin/sh", "-c", "echo out; echo err >&2; exit 3");
        Assert.Equal(3, code);
        // stdout and stderr are read apart, so their lines' relative order is that of hostd's reads.
        Assert.Equal(["err", "out"], Lines(stdout).Order(StringComparer.Ordinal));
        var npid = Lines(stderr)[0]["nef: ".Length..];
        Assert.True(Npid.IsWellFormed(npid), stderr);
        Assert.Contains("exited 3", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Monitor_prints_how_the_process_ended()
    {
        var tenant = await Node.SdkAsync();
        var npid = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sh", Args = ["-c", "echo hi; exit 3"] });
        try
        {
            var (code, stdout, stderr) = await Node.NefAsync("monitor", npid);
            Assert.True(code == 0, stderr);
            Assert.Equal("exited 3", stdout.Trim());
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npid);
        }
    }

    [Fact]
    public async Task Logs_prints_the_captured_output()
    {
        var tenant = await Node.SdkAsync();
        var npid = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sh", Args = ["-c", "echo hi; exec sleep 300"] });
        try
        {
            await Eventually.Until(async () => (await tenant.ReadLogsAsync(npid)).Data.Length > 0, Bound, "output captured");
            var (code, stdout, stderr) = await Node.NefAsync("logs", npid);
            Assert.True(code == 0, stderr);
            Assert.Equal("hi\n", stdout);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npid);
        }
    }

    [Fact]
    public async Task Logs_of_an_ended_process_prints_its_output()
    {
        var tenant = await Node.SdkAsync();
        var npid = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sh", Args = ["-c", "echo hi; exit 3"] });
        try
        {
            await tenant.WaitAsync(npid).WaitAsync(Bound);
            var (code, stdout, stderr) = await Node.NefAsync("logs", npid);
            Assert.True(code == 0, stderr);
            Assert.Equal("hi\n", stdout);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npid);
        }
    }

    [Fact]
    public async Task Ps_prints_the_header_and_a_row_per_process()
    {
        var tenant = await Node.SdkAsync("cli-ps");
        var npid = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sleep", Args = ["100"] });
        try
        {
            var pid = (await tenant.GetAsync(npid)).Pid;
            var (code, stdout, stderr) = await Node.NefAsync("--tenant", "cli-ps", "ps");
            Assert.True(code == 0, stderr);
            var lines = Lines(stdout);
            Assert.Equal(["NPID", "NODE", "PID", "STATE", "CPU", "MEM", "AGE", "COMMAND"], Words(lines[0]));
            var row = Words(Assert.Single(lines.Skip(1)));
            Assert.Equal(npid, row[0]);
            Assert.Equal(Node.Name, row[1]);
            Assert.Equal(pid.ToString(), row[2]);
            Assert.Equal("Running", row[3], ignoreCase: true);
            Assert.Equal(["/bin/sleep", "100"], row[^2..]);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npid);
        }
    }

    [Fact]
    public async Task Nspawn_prints_one_npid_a_line_and_killall_kills_them()
    {
        var tenant = await Node.SdkAsync("cli-killall");
        var (code, stdout, stderr) = await Node.NefAsync("--tenant", "cli-killall", "nspawn", "3", "--", "/bin/sleep", "60");
        var npids = Lines(stdout);
        try
        {
            Assert.True(code == 0, stderr);
            Assert.Equal(3, npids.Length);
            Assert.All(npids, n => Assert.True(Npid.IsWellFormed(n), n));
            Assert.Equal(3, npids.Distinct().Count());

            var killall = await Node.NefAsync("--tenant", "cli-killall", "killall", "-9", "sleep");
            Assert.True(killall.Code == 0, killall.Stderr);

            foreach (var npid in npids)
            {
                var monitor = await Node.NefAsync("--tenant", "cli-killall", "monitor", npid);
                Assert.True(monitor.Code == 0, monitor.Stderr);
                Assert.Equal("killed by SIGKILL", monitor.Stdout.Trim());
            }
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npids.Where(Npid.IsWellFormed));
        }
    }

    [Fact]
    public async Task Error_is_one_line_on_stderr_and_a_nonzero_exit()
    {
        var (code, stdout, stderr) = await Node.NefAsync("spawn", "--", "/nonexistent/program");
        Assert.NotEqual(0, code);
        Assert.Equal(string.Empty, stdout);
        var line = Assert.Single(Lines(stderr));
        Assert.StartsWith("nef: ", line);
        Assert.Contains("/nonexistent/program", line);
    }

    [Fact]
    public async Task Nef_inside_a_Nefele_process_spawns_through_hostd()
    {
        var tenant = await Node.SdkAsync();
        var nef = Path.Combine(RepoPaths.Root, "bin", "nef");
        var outer = await tenant.SpawnAsync(new ProcessSpec
        {
            Path = "/bin/sh",
            Args = ["-c", $"'{nef}' spawn -- /bin/true 2>&1; exec sleep 300"],
            Env = new Dictionary<string, string> { ["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin" },
        });
        string? inner = null;
        try
        {
            var line = await Eventually.Value(async () =>
            {
                var text = System.Text.Encoding.UTF8.GetString((await tenant.ReadLogsAsync(outer)).Data);
                return text.Contains('\n') ? text[..text.IndexOf('\n')] : null;
            }, Bound, "the inner nef's output");
            Assert.True(Npid.IsWellFormed(line), $"inner nef printed: {line}");
            inner = line;
            Assert.NotEqual(outer, inner);

            var end = await tenant.WaitAsync(inner).WaitAsync(Bound);
            Assert.Equal("exited 0", end.Describe());
        }
        finally
        {
            await Cleanup.KillAsync(tenant, outer);
            if (inner is not null)
            {
                await Cleanup.KillAsync(tenant, inner);
            }
        }
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static string[] Words(string line) => line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}
