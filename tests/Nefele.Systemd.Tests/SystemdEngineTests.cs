using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Nefele.HostAgent.Cgroups;
using Nefele.HostAgent.Engines;
using Nefele.HostAgent.Engines.Systemd;

namespace Nefele.Systemd.Tests;

/// <summary>The systemd engine on its own, against a real systemd: units, limits, exits, signals, output, recovery, a lost bus.</summary>
public sealed class SystemdEngineTests : IAsyncLifetime
{
    private const uint TenantUid = 200778;
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(20);
    private readonly string node = "sd" + Guid.NewGuid().ToString("N")[..8];
    private readonly List<SystemdEngine> engines = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var engine in engines)
        {
            await engine.DisposeAsync();
        }

        // Every unit a test left (RemainAfterExit keeps ended ones): stopped with its processes, and reset.
        var engineForCleanup = NewEngine();
        foreach (var recovered in await engineForCleanup.RecoverAsync(CancellationToken.None))
        {
            await engineForCleanup.ReleaseAsync(recovered.Process.Id);
        }

        await engineForCleanup.DisposeAsync();
    }

    [SkippableFact]
    public async Task A_process_runs_as_its_tenants_uid_and_its_output_and_exit_code_are_reported()
    {
        var engine = NewEngine();
        var exits = Exits(engine);
        var started = await engine.StartAsync(Spec("/bin/sh", "-c", "echo out; echo err >&2; grep ^Uid: /proc/self/status; exit 3"), CancellationToken.None);

        // 0 when the program ended before its start job did (a busy node): its pid can no longer
        // be mapped into this namespace. The pid test below covers the mapping of a running one.
        Assert.True(started.Pid >= 0);
        Assert.StartsWith("nefele-", started.Id.Value, StringComparison.Ordinal);

        var errors = ReadAllAsync(started.ErrorOutput!);
        var output = await ReadAllAsync(started.Output);
        var exit = await exits.NextAsync(started.Id);
        Assert.Equal(3, exit.ExitCode);
        Assert.Equal(0, exit.Signal);
        Assert.StartsWith("out\nUid:\t200778\t200778\t200778\t200778", output, StringComparison.Ordinal);
        Assert.Equal("err\n", await errors);
    }

    [SkippableFact]
    public async Task An_ended_process_s_output_ends_with_it_and_its_unit_goes_before_any_release()
    {
        var engine = NewEngine();
        var exits = Exits(engine);
        var succeeded = await engine.StartAsync(Spec("/bin/sh", "-c", "echo fine"), CancellationToken.None);
        var failed = await engine.StartAsync(Spec("/bin/sh", "-c", "echo bad; exit 4"), CancellationToken.None);

        // No release: systemd no longer holds the output socket once the process has ended.
        Assert.Equal("fine\n", await ReadAllAsync(succeeded.Output));
        Assert.Equal("bad\n", await ReadAllAsync(failed.Output));
        Assert.Equal(0, (await exits.NextAsync(succeeded.Id)).ExitCode);
        Assert.Equal(4, (await exits.NextAsync(failed.Id)).ExitCode);

        // Ended units do not pile up in systemd, whether they succeeded or failed.
        await WaitUnitGoneAsync(succeeded.Id.Value);
        await WaitUnitGoneAsync(failed.Id.Value);
        await engine.ReleaseAsync(succeeded.Id);
        await engine.ReleaseAsync(failed.Id);
    }

    [SkippableFact]
    public async Task The_pid_is_the_one_this_pid_namespace_sees_and_signals_end_the_process()
    {
        var engine = NewEngine();
        var exits = Exits(engine);
        var started = await engine.StartAsync(Spec("/bin/sleep", "1000"), CancellationToken.None);

        // The pid is this namespace's: its /proc entry is the unit's process.
        Assert.Contains($"/{started.Id.Value}", File.ReadAllText($"/proc/{started.Pid}/cgroup"), StringComparison.Ordinal);

        Assert.True(await engine.SignalAsync(started.Id, 15, SignalTarget.MainProcess, CancellationToken.None));
        var exit = await exits.NextAsync(started.Id);
        Assert.Equal(-1, exit.ExitCode);
        Assert.Equal(15, exit.Signal);
        Assert.False(await engine.SignalAsync(started.Id, 15, SignalTarget.MainProcess, CancellationToken.None));
    }

    [SkippableFact]
    public async Task Signalling_all_reaches_the_children_of_the_process()
    {
        var engine = NewEngine();
        var exits = Exits(engine);

        // The shell waits for its child: SIGKILL to "all" ends both.
        var started = await engine.StartAsync(Spec("/bin/sh", "-c", "sleep 1000 & echo $!; wait"), CancellationToken.None);
        var reader = new StreamReader(started.Output);
        var childLine = await reader.ReadLineAsync().WaitAsync(Within);
        Assert.NotNull(childLine);

        Assert.True(await engine.SignalAsync(started.Id, 9, SignalTarget.All, CancellationToken.None));
        var exit = await exits.NextAsync(started.Id);
        Assert.Equal(9, exit.Signal);
        Assert.Null(await reader.ReadLineAsync().WaitAsync(Within));
    }

    [SkippableFact]
    public async Task Cpu_and_memory_limits_are_set_on_the_units_cgroups()
    {
        var engine = NewEngine();
        var started = await engine.StartAsync(Spec("/bin/sleep", "1000") with { Limits = new CgroupLimits(CpuMillis: 250, MemoryBytes: 64L << 20) }, CancellationToken.None);

        // Found from the process's own /proc entry, not from the engine.
        var memory = CgroupDirectory(started.Pid, "memory");
        var cpu = CgroupDirectory(started.Pid, "cpu");
        Skip.If(memory is null || cpu is null, "no cgroup v1 memory and cpu hierarchies here");
        Assert.Equal((64L << 20).ToString(CultureInfo.InvariantCulture), File.ReadAllText(Path.Combine(memory!, "memory.limit_in_bytes")).Trim());
        var quota = long.Parse(File.ReadAllText(Path.Combine(cpu!, "cpu.cfs_quota_us")), CultureInfo.InvariantCulture);
        var period = long.Parse(File.ReadAllText(Path.Combine(cpu!, "cpu.cfs_period_us")), CultureInfo.InvariantCulture);
        Assert.Equal(0.25, (double)quota / period, 3);

        var usage = engine.Usage(started.Id);
        Assert.NotNull(usage);
        Assert.True(usage.MemoryUsageBytes > 0);
    }

    [SkippableFact]
    public async Task A_program_that_does_not_exist_is_rejected_with_its_name()
    {
        var engine = NewEngine();
        var e = await Assert.ThrowsAsync<SpawnRejectedException>(() => engine.StartAsync(Spec("/no/such/program"), CancellationToken.None));
        Assert.Contains("/no/such/program: no such file", e.Message, StringComparison.Ordinal);

        var cwd = await Assert.ThrowsAsync<SpawnRejectedException>(() => engine.StartAsync(Spec("/bin/true") with { WorkingDirectory = "/no/such/dir" }, CancellationToken.None));
        Assert.Contains("cwd /no/such/dir does not exist", cwd.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task After_a_restart_running_processes_are_adopted_and_their_exits_still_reported()
    {
        var first = NewEngine();
        var running = await first.StartAsync(Spec("/bin/sleep", "1000"), CancellationToken.None);
        var ending = await first.StartAsync(Spec("/bin/sleep", "1000"), CancellationToken.None);
        await first.DisposeAsync();
        engines.Remove(first);

        // One ends while no engine watches: its exit is reported after the restart.
        Assert.Equal(0, Kill(ending.Pid, 9));
        await WaitGoneAsync(ending.Pid);

        var second = NewEngine();
        var exits = Exits(second);
        var recovered = await second.RecoverAsync(CancellationToken.None);
        var kept = Assert.Single(recovered, r => r.Process.Id == running.Id);
        Assert.Equal(running.Pid, kept.Process.Pid);
        Assert.Equal(TenantUid, kept.Uid);
        Assert.Equal("acme", kept.Tenant);
        Assert.Contains(recovered, r => r.Process.Id == ending.Id);
        Assert.True(Directory.Exists($"/proc/{running.Pid}"), "the adopted process was stopped");

        Assert.Equal(9, (await exits.NextAsync(ending.Id)).Signal);
        Assert.True(await second.SignalAsync(running.Id, 15, SignalTarget.MainProcess, CancellationToken.None));
        Assert.Equal(15, (await exits.NextAsync(running.Id)).Signal);
    }

    [SkippableFact]
    public async Task Without_its_bus_a_start_fails_clearly_and_after_the_bus_returns_no_exit_is_missed()
    {
        var engine = NewEngine();
        var exits = Exits(engine);
        var running = await engine.StartAsync(Spec("/bin/sleep", "1000"), CancellationToken.None);

        await Testbed.RunInsideAsync("systemctl", "stop", "dbus.socket", "dbus.service");
        try
        {
            var refused = await Assert.ThrowsAsync<SpawnRejectedException>(() => engine.StartAsync(Spec("/bin/true"), CancellationToken.None));
            Assert.Contains("systemd bus", refused.Message, StringComparison.Ordinal);

            // Ends while the bus is away: no signal can tell the engine.
            Assert.Equal(0, Kill(running.Pid, 9));
            await WaitGoneAsync(running.Pid);
        }
        finally
        {
            await Testbed.RunInsideAsync("systemctl", "start", "dbus.socket", "dbus.service");
        }

        Assert.Equal(9, (await exits.NextAsync(running.Id)).Signal);

        // The connection comes back by itself: a start succeeds again within the bound.
        var deadline = DateTime.UtcNow + Within;
        StartedProcess? again = null;
        while (again is null)
        {
            try
            {
                again = await engine.StartAsync(Spec("/bin/true"), CancellationToken.None);
            }
            catch (SpawnRejectedException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }

        Assert.Equal(0, (await exits.NextAsync(again.Id)).ExitCode);
    }

    // ---- helpers ---------------------------------------------------------------------

    private SystemdEngine NewEngine()
    {
        var engine = new SystemdEngine(Testbed.Bus, node, NullLogger<SystemdEngine>.Instance);
        engines.Add(engine);
        return engine;
    }

    private static LaunchSpec Spec(string path, params string[] args) =>
        new(
            "p" + Guid.NewGuid().ToString("N")[..12], "acme", path, args,
            new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin" },
            "/", default, new ProcessIdentity(TenantUid, TenantUid, []),
            new ProcessPaths("/nonexistent/api.sock", "/nonexistent/shim.so"));

    private static async Task<string> ReadAllAsync(Stream output)
    {
        using var reader = new StreamReader(output, Encoding.UTF8);
        return await reader.ReadToEndAsync().WaitAsync(Within);
    }

    /// <summary>A process's cgroup directory in one v1 hierarchy, from /proc/PID/cgroup.</summary>
    private static string? CgroupDirectory(int pid, string controller)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/cgroup"))
        {
            var parts = line.Split(':', 3);
            if (parts[1].Split(',').Contains(controller))
            {
                var dir = $"/sys/fs/cgroup/{parts[1]}{parts[2]}";
                return Directory.Exists(dir) ? dir : null;
            }
        }

        return null;
    }

    private static async Task WaitGoneAsync(int pid)
    {
        // A process that is not this one's child cannot be waited for: its /proc entry is watched, bounded.
        var deadline = DateTime.UtcNow + Within;
        while (Directory.Exists($"/proc/{pid}") && File.ReadAllText($"/proc/{pid}/stat").Split(' ')[2] != "Z")
        {
            Assert.True(DateTime.UtcNow < deadline, $"pid {pid} did not end");
            await Task.Delay(20);
        }
    }

    private static async Task WaitUnitGoneAsync(string unit)
    {
        // Removed by the engine right after the exit it reported: watched through systemctl, bounded.
        var deadline = DateTime.UtcNow + Within;
        while ((await Testbed.RunInsideAsync("systemctl", "show", "--property=LoadState", "--value", unit)).Trim() != "not-found")
        {
            Assert.True(DateTime.UtcNow < deadline, $"unit {unit} is still loaded");
            await Task.Delay(20);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    private static ExitWatch Exits(SystemdEngine engine) => new(engine);

    /// <summary>Collects an engine's exits; NextAsync waits for one process's, bounded.</summary>
    private sealed class ExitWatch
    {
        private readonly Dictionary<LocalProcessId, TaskCompletionSource<ProcessExit>> waiting = [];

        public ExitWatch(SystemdEngine engine) => _ = CollectAsync(engine);

        public Task<ProcessExit> NextAsync(LocalProcessId id) => For(id).Task.WaitAsync(Within);

        private TaskCompletionSource<ProcessExit> For(LocalProcessId id)
        {
            lock (waiting)
            {
                if (!waiting.TryGetValue(id, out var tcs))
                {
                    waiting[id] = tcs = new TaskCompletionSource<ProcessExit>(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                return tcs;
            }
        }

        private async Task CollectAsync(SystemdEngine engine)
        {
            await foreach (var exit in engine.ExitsAsync(CancellationToken.None))
            {
                For(exit.Id).TrySetResult(exit);
            }
        }
    }
}
