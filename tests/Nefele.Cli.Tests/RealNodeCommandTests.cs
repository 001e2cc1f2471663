using System.Text.Json;
using System.Text.RegularExpressions;
using Nefele.Testing;

namespace Nefele.Cli.Tests;

/// <summary>
/// Every nef command against a real node (hostd, silo, real processes), not canned JSON:
/// what it prints and its exit status, and that the node did what it said. nef runs in-process
/// over its REST transport, with the node's admin key unless a test makes its own.
/// </summary>
public sealed partial class RealNodeCommandTests(RealNode node) : IClassFixture<RealNode>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Spawn_prints_one_npid_and_ps_shows_it_running_until_kill_ends_it_with_SIGTERM()
    {
        var tenant = await TenantAsync("spawn");
        var spawn = await NefAsync(tenant, "spawn", "--name", "napper", "--", "/bin/sleep", "300");
        var npid = SingleNpid(spawn);
        try
        {
            var ps = await NefAsync(tenant, "ps");
            Assert.Equal(0, ps.Status);
            var lines = ps.Out.TrimEnd('\n').Split('\n');
            Assert.StartsWith("NPID", lines[0], StringComparison.Ordinal);
            var row = Assert.Single(lines, l => l.StartsWith(npid + " ", StringComparison.Ordinal));
            Assert.Contains(node.Name, row, StringComparison.Ordinal);
            Assert.Contains("Running", row, StringComparison.Ordinal);
            Assert.Contains("/bin/sleep 300", row, StringComparison.Ordinal);

            using var json = JsonDocument.Parse((await NefAsync(tenant, "ps", "--json")).Out);
            var mine = Assert.Single(json.RootElement.EnumerateArray());
            Assert.Equal(npid, mine.GetProperty("npid").GetString());
            Assert.Equal("Running", mine.GetProperty("state").GetString());
            Assert.True(mine.GetProperty("pid").GetInt32() > 0);

            var kill = await NefAsync(tenant, "kill", npid);
            Assert.Equal((0, string.Empty), (kill.Status, kill.Err));
            Assert.Equal("killed by SIGTERM", await EndAsync(tenant, npid));
        }
        finally
        {
            await KillAsync(tenant, npid);
        }

        // Gone from the live list, still listed with -a.
        Assert.DoesNotContain(npid, (await NefAsync(tenant, "ps")).Out, StringComparison.Ordinal);
        Assert.Contains(npid, (await NefAsync(tenant, "ps", "-a")).Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Spawn_wait_prints_the_output_and_exits_with_the_process_status()
    {
        var tenant = await TenantAsync("wait");
        var run = await NefAsync(tenant, "spawn", "--wait", "--", "/bin/sh", "-c", "echo out; exit 7");

        Assert.Equal(7, run.Status);
        Assert.Equal("out\n", run.Out);
        Assert.Equal("nef: ", run.Err[..5]);
        Assert.Matches(NpidLine(), run.Err.Split('\n')[0][5..]);
        Assert.EndsWith(" exited 7\n", run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Spawn_of_a_missing_program_is_one_line_naming_it_and_status_1()
    {
        var tenant = await TenantAsync("missing");
        var run = await NefAsync(tenant, "spawn", "--", "/nonexistent/program");

        Assert.Equal(1, run.Status);
        Assert.Equal(string.Empty, run.Out);
        Assert.Equal("nef: spawn rejected: /nonexistent/program: no such file\n", run.Err);
        Assert.Equal(string.Empty, (await NefAsync(tenant, "ps", "--json")).Out.Replace("[]", string.Empty, StringComparison.Ordinal).Trim());
    }

    [Fact]
    public async Task Nspawn_starts_count_processes_and_killall_ends_every_one_with_the_signal()
    {
        var tenant = await TenantAsync("nspawn");
        var spawn = await NefAsync(tenant, "nspawn", "3", "--", "/bin/sleep", "300");
        Assert.Equal(0, spawn.Status);
        var npids = Npids(spawn);
        try
        {
            Assert.Equal(3, npids.Length);
            Assert.Equal(3, npids.Distinct().Count());
            Assert.Equal(3, RunningRows(await NefAsync(tenant, "ps"), npids));

            var killall = await NefAsync(tenant, "killall", "-KILL", "sleep");
            Assert.Equal((0, string.Empty), (killall.Status, killall.Err));

            var monitor = await NefAsync(tenant, ["monitor", .. npids]);
            Assert.Equal(0, monitor.Status);
            Assert.Equal(
                npids.Select(n => $"{n}: killed by SIGKILL").Order(StringComparer.Ordinal),
                monitor.Out.TrimEnd('\n').Split('\n').Order(StringComparer.Ordinal));
        }
        finally
        {
            await KillAsync(tenant, npids);
        }

        var none = await NefAsync(tenant, "killall", "sleep");
        Assert.Equal((1, "nef: no process matching sleep\n"), (none.Status, none.Err));
    }

    [Fact]
    public async Task Cspawn_starts_every_task_of_the_file_with_its_count()
    {
        var tenant = await TenantAsync("cspawn");
        var file = Path.Combine(node.RunDir, $"{tenant}.json");
        await File.WriteAllTextAsync(file, """
            { "tasks": [
                { "path": "/bin/sleep", "args": ["300"], "name": "pair", "count": 2 },
                { "path": "/bin/sh", "args": ["-c", "echo single"], "name": "single" }
            ] }
            """);
        var spawn = await NefAsync(tenant, "cspawn", file);
        Assert.Equal((0, string.Empty), (spawn.Status, spawn.Err));
        var npids = Npids(spawn);
        try
        {
            Assert.Equal(3, npids.Length);
            Assert.Equal("exited 0", await EndAsync(tenant, npids[2]));
            Assert.Equal("single\n", (await NefAsync(tenant, "logs", npids[2])).Out);
            Assert.Equal(2, RunningRows(await NefAsync(tenant, "ps"), npids[..2]));
        }
        finally
        {
            await KillAsync(tenant, npids);
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Logs_prints_what_the_process_wrote_and_follow_ends_with_the_process()
    {
        var tenant = await TenantAsync("logs");
        var npid = SingleNpid(await NefAsync(tenant, "spawn", "--", "/bin/sh", "-c", "echo one; echo two >&2; read line"));
        try
        {
            // The process waits on stdin (/dev/null), so it ends at once after writing: follow sees all of it and its end.
            var follow = await NefAsync(tenant, "logs", "-f", npid);
            Assert.Equal(0, follow.Status);
            // stdout and stderr are read apart, so their lines' relative order is that of hostd's reads.
            Assert.Equal(["one", "two"], follow.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
            Assert.Equal("exited 1", await EndAsync(tenant, npid));
            Assert.Equal("two\n", (await NefAsync(tenant, "logs", "--stream", "stderr", npid)).Out);
            Assert.Equal("one\n", (await NefAsync(tenant, "logs", "--stream", "stdout", npid)).Out);
        }
        finally
        {
            await KillAsync(tenant, npid);
        }
    }

    [Fact]
    public async Task Monitor_of_an_unknown_npid_is_an_error_naming_it()
    {
        var tenant = await TenantAsync("monitor");
        var run = await NefAsync(tenant, "monitor", "0000000000000");

        Assert.Equal(1, run.Status);
        Assert.StartsWith("nef: ", run.Err, StringComparison.Ordinal);
        Assert.Contains("0000000000000", run.Err, StringComparison.Ordinal);
        Assert.Single(run.Err.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task Tenant_create_prints_its_uid_ls_lists_it_and_rm_removes_it()
    {
        var name = "t-" + Guid.NewGuid().ToString("N")[..8];
        var create = await NefAsync(null, "tenant", "create", name, "--max-processes", "7");
        Assert.Equal((0, string.Empty), (create.Status, create.Err));
        var created = TenantLine().Match(create.Out);
        Assert.True(created.Success, create.Out);
        Assert.Equal(name, created.Groups["name"].Value);
        var uid = created.Groups["uid"].Value;

        var ls = await NefAsync(null, "tenant", "ls");
        Assert.Equal(0, ls.Status);
        var row = Assert.Single(ls.Out.Split('\n'), l => l.StartsWith(name + " ", StringComparison.Ordinal));
        var cells = row.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal([name, uid, "no", "-", "-", "7", "-"], cells);

        var again = await NefAsync(null, "tenant", "create", name);
        Assert.Equal(1, again.Status);
        Assert.Contains(name, again.Err, StringComparison.Ordinal);

        var rm = await NefAsync(null, "tenant", "rm", name);
        Assert.Equal((0, string.Empty, string.Empty), (rm.Status, rm.Out, rm.Err));
        Assert.DoesNotContain(name + " ", (await NefAsync(null, "tenant", "ls")).Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Key_create_gives_a_key_whoami_names_ls_lists_and_revoke_makes_refused()
    {
        var tenant = await TenantAsync("keys");
        var create = await NefAsync(null, "key", "create", "--tenant", tenant, "--name", "ci", "--role", "viewer");
        Assert.Equal((0, string.Empty), (create.Status, create.Err));
        var token = create.Out.TrimEnd('\n');
        Assert.DoesNotContain('\n', token);

        var whoami = await NefRun.RunAsync(node.Env(token), "whoami");
        Assert.Equal((0, $"key ci: viewer of tenant {tenant}\n", string.Empty), (whoami.Status, whoami.Out, whoami.Err));

        // A viewer may look but not start anything.
        var look = await NefRun.RunAsync(node.Env(token, tenant), "ps");
        Assert.True(look.Status == 0, look.Err);
        var refused = await NefRun.RunAsync(node.Env(token, tenant), "spawn", "--", "/bin/true");
        Assert.Equal(1, refused.Status);
        Assert.StartsWith("nef: ", refused.Err, StringComparison.Ordinal);

        var ls = await NefAsync(null, "key", "ls", "--tenant", tenant);
        Assert.Equal(0, ls.Status);
        Assert.StartsWith("NAME", ls.Out, StringComparison.Ordinal);
        var row = Cells(Assert.Single(ls.Out.Split('\n'), l => l.StartsWith("ci ", StringComparison.Ordinal)));
        Assert.Equal(5, row.Length);
        Assert.Equal(["ci", "viewer", "never", "active"], [row[0], row[1], row[3], row[4]]);
        Assert.Matches("^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}$", row[2]);
        Assert.DoesNotContain(token, ls.Out, StringComparison.Ordinal);

        var revoke = await NefAsync(null, "key", "revoke", "--tenant", tenant, "ci");
        Assert.Equal((0, string.Empty), (revoke.Status, revoke.Err));
        // Revoking deletes the key (DELETE …/keys/ci): it is no longer listed.
        var left = await NefAsync(null, "key", "ls", "--tenant", tenant);
        Assert.Equal(0, left.Status);
        Assert.DoesNotContain(left.Out.Split('\n'), l => l.StartsWith("ci ", StringComparison.Ordinal));

        // Nodes refuse a revoked key within a second (their key cache lives that long).
        NefRun after = null!;
        await Eventually.Until(async () => (after = await NefRun.RunAsync(node.Env(token), "whoami")).Status != 0, Bound, "the revoked key refused");
        Assert.Equal(1, after.Status);
        Assert.Equal(string.Empty, after.Out);
        Assert.StartsWith("nef: ", after.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Whoami_with_the_admin_key_says_admin_and_with_no_key_is_refused()
    {
        var admin = await NefAsync(null, "whoami");
        Assert.Equal(0, admin.Status);
        Assert.Matches("^key [^ ]+: admin\n$", admin.Out);

        var bogus = await NefRun.RunAsync(node.Env("nfk_not-a-real-key"), "whoami");
        Assert.Equal(1, bogus.Status);
        Assert.StartsWith("nef: ", bogus.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_lists_every_command_and_exits_0()
    {
        var help = await NefAsync(null, "help");
        Assert.Equal((0, string.Empty), (help.Status, help.Err));
        foreach (var command in new[] { "spawn", "nspawn", "cspawn", "ps", "monitor", "kill", "killall", "logs", "help", "whoami", "tenant create", "tenant ls", "tenant rm", "key create", "key ls", "key revoke" })
        {
            Assert.Matches(new Regex($"(?m)^ +(.*\\| )?{Regex.Escape(command)}( |$)"), help.Out);
        }

        var unknown = await NefAsync(null, "spwan");
        Assert.Equal(2, unknown.Status);
        Assert.Contains("spwan", unknown.Err, StringComparison.Ordinal);
    }

    private static string SingleNpid(NefRun spawn)
    {
        Assert.True(spawn.Status == 0, spawn.Err);
        return Assert.Single(Npids(spawn));
    }

    private static string[] Npids(NefRun spawn)
    {
        var lines = spawn.Out.TrimEnd('\n').Split('\n');
        Assert.All(lines, l => Assert.Matches(NpidLine(), l));
        return lines;
    }

    /// <summary>A table row's cells: columns are set apart by two blanks or more (a cell may hold one).</summary>
    private static string[] Cells(string row) => ColumnGap().Split(row.Trim());

    private static int RunningRows(NefRun ps, IEnumerable<string> npids) =>
        ps.Out.Split('\n').Count(l => npids.Any(n => l.StartsWith(n + " ", StringComparison.Ordinal)) && l.Contains(" Running ", StringComparison.Ordinal));

    /// <summary>Creates a tenant of its own for the test with nef, as an admin does.</summary>
    private async Task<string> TenantAsync(string what)
    {
        var name = what + "-" + Guid.NewGuid().ToString("N")[..6];
        var create = await NefAsync(null, "tenant", "create", name);
        Assert.True(create.Status == 0, create.Err + node.Log);
        return name;
    }

    /// <summary>How nef monitor reports the process's end (one NPID: the end alone).</summary>
    private async Task<string> EndAsync(string tenant, string npid)
    {
        var monitor = await NefAsync(tenant, "monitor", npid);
        Assert.True(monitor.Status == 0, monitor.Err);
        return monitor.Out.TrimEnd('\n');
    }

    /// <summary>Ends what a test started, by NPID, whatever state it is in by then.</summary>
    private async Task KillAsync(string tenant, params string[] npids)
    {
        foreach (var npid in npids)
        {
            await NefAsync(tenant, "kill", "-9", npid);
            await NefAsync(tenant, "monitor", npid);
        }
    }

    private Task<NefRun> NefAsync(string? tenant, params string[] args) =>
        NefRun.RunAsync(node.Env(tenant: tenant), args).WaitAsync(Bound);

    [GeneratedRegex(" {2,}")]
    private static partial Regex ColumnGap();

    [GeneratedRegex("^[A-Za-z0-9._-]+$")]
    private static partial Regex NpidLine();

    [GeneratedRegex(@"^(?<name>\S+) uid=(?<uid>[0-9]+) gid=[0-9]+\n$")]
    private static partial Regex TenantLine();
}
