using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Tests;

/// <summary>Processes run as their tenant's uid and gid, with no other groups, no new privileges and the node's limits.</summary>
public sealed class IdentityTests : IAsyncLifetime
{
    private HostdInstance hostd = null!;
    private SiloConnection silo = null!;

    public async Task InitializeAsync()
    {
        hostd = await HostdInstance.StartAsync("--rlimit-nofile", "1000", "--rlimit-nproc", "500");
        silo = await hostd.AttachAsync();
    }

    public async Task DisposeAsync()
    {
        await silo.DisposeAsync();
        await hostd.DisposeAsync();
    }

    private static string NewNpid() => "i" + Guid.NewGuid().ToString("N")[..12];

    private static LaunchRequest Launch(string npid, string script, uint uid, uint gid, bool privileged = false)
    {
        var spec = new ProcessSpec { Path = "/bin/sh" };
        spec.Args.AddRange(["-c", script]);
        return new LaunchRequest { Npid = npid, Tenant = "acme", Spec = spec, Uid = uid, Gid = gid, Privileged = privileged };
    }

    private async Task<string> RunAsync(LaunchRequest launch)
    {
        var reply = await silo.LaunchAsync(launch);
        Assert.True(reply.OutcomeCase == LaunchReply.OutcomeOneofCase.Started, $"expected started, got {reply}");
        var exit = await silo.NextExitAsync(launch.Npid);
        var output = await silo.AllLogsAsync(launch.Npid);
        await silo.AckAsync(launch.Npid);
        Assert.True(exit.End.ExitCode == 0, $"exit {exit.End.ExitCode}: {output}");
        return output.Trim();
    }

    [Fact]
    public async Task Process_runs_as_the_requested_uid_and_gid_with_that_group_only()
    {
        var output = await RunAsync(Launch(NewNpid(), "echo $(id -u) $(id -g) $(id -G)", 201234, 201235));
        Assert.Equal("201234 201235 201235", output);
    }

    [Fact]
    public async Task Process_has_no_new_privileges_and_the_node_limits()
    {
        var output = await RunAsync(Launch(NewNpid(), "grep NoNewPrivs /proc/self/status | tr -d ' \\t'; ulimit -n; awk '/Max processes/ {print $3}' /proc/self/limits; ulimit -c", 201234, 201234));
        Assert.Equal(["NoNewPrivs:1", "1000", "500", "0"], output.Split('\n'));
    }

    [Fact]
    public async Task Limits_in_the_launch_replace_the_node_defaults()
    {
        var launch = Launch(NewNpid(), "ulimit -n; ulimit -Hn", 201234, 201234);
        launch.Rlimits.Add(new ResourceLimit { Resource = RlimitResource.Nofile, Soft = 100, Hard = 200 });
        Assert.Equal(["100", "200"], (await RunAsync(launch)).Split('\n'));
    }

    [Fact]
    public async Task Soft_limit_above_hard_is_rejected()
    {
        var launch = Launch(NewNpid(), "true", 201234, 201234);
        launch.Rlimits.Add(new ResourceLimit { Resource = RlimitResource.Nofile, Soft = 300, Hard = 200 });
        var reply = await silo.LaunchAsync(launch);
        Assert.Equal(LaunchReply.OutcomeOneofCase.Rejected, reply.OutcomeCase);
        Assert.Contains("soft 300 exceeds hard 200", reply.Rejected.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0u, 201234u)]
    [InlineData(201234u, 0u)]
    [InlineData(0u, 0u)]
    public async Task Root_is_refused_unless_the_tenant_is_privileged(uint uid, uint gid)
    {
        var marker = Path.Combine(hostd.RunDirectory, "ran-" + Guid.NewGuid().ToString("N"));
        var reply = await silo.LaunchAsync(Launch(NewNpid(), $"touch {marker}", uid, gid));
        Assert.Equal(LaunchReply.OutcomeOneofCase.Rejected, reply.OutcomeCase);
        Assert.Equal("spawn_rejected", reply.Rejected.Code);
        Assert.Contains("only for a privileged tenant", reply.Rejected.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public async Task Privileged_tenant_runs_as_root()
    {
        Assert.Equal("0 0", await RunAsync(Launch(NewNpid(), "echo $(id -u) $(id -G)", 0, 0, privileged: true)));
    }

    [Fact]
    public async Task Cwd_the_uid_may_not_enter_is_rejected_naming_the_uid()
    {
        var closed = Path.Combine(hostd.RunDirectory, "closed");
        Directory.CreateDirectory(closed);
        File.SetUnixFileMode(closed, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var launch = Launch(NewNpid(), "true", 201234, 201234);
        launch.Spec.Cwd = closed;
        var reply = await silo.LaunchAsync(launch);
        Assert.Equal(LaunchReply.OutcomeOneofCase.Rejected, reply.OutcomeCase);
        Assert.Contains($"cwd {closed}: permission denied for uid 201234", reply.Rejected.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logs_are_root_only_files_in_a_root_only_directory()
    {
        var npid = NewNpid();
        Assert.Equal("secret output", await RunAsync(Launch(npid, "echo secret output", 201234, 201234)));
        var logs = Path.Combine(hostd.RunDirectory, "logs");
        var file = Path.Combine(logs, npid + ".log");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.Equal(0, FileOwner.Uid(file));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(logs));
        Assert.Equal(
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute,
            File.GetUnixFileMode(hostd.RunDirectory));

        // Another tenant's process can neither read the file nor list the directory; its own uid cannot either.
        foreach (var uid in new uint[] { 201299, 201234 })
        {
            var output = await RunAsync(Launch(NewNpid(), $"cat {file} 2>&1 || echo refused; ls {logs} 2>&1 || echo refused", uid, uid));
            Assert.DoesNotContain("secret output", output, StringComparison.Ordinal);
            Assert.DoesNotContain(npid, output.Replace(file, "", StringComparison.Ordinal), StringComparison.Ordinal);
            Assert.Equal(2, output.Split('\n').Count(l => l == "refused"));
        }
    }

    [SkippableFact]
    public async Task Process_cannot_change_its_cgroup_limits_or_leave_its_cgroup()
    {
        Skip.If(HostCgroups.Flavor == "none", "this machine offers hostd no cgroup hierarchy: there is no cgroup to leave");

        // The same three attempts in the interface files of this machine's flavour, from inside
        // the process's own cgroup (else a refusal would prove nothing).
        var npid = NewNpid();
        var inOwn = $"case $p in */nefele/{hostd.Node}/acme/{npid}) ;; *) echo \"not in its own cgroup: $p\";; esac";
        var script = HostCgroups.Flavor == "v2"
            ? $"""
                h={HostCgroups.UnifiedHierarchy}
                p=$(grep '^0::' /proc/self/cgroup | cut -d: -f3)
                {inOwn}
                (echo max > $h$p/memory.max) 2>/dev/null && echo wrote-limit || echo limit-refused
                (echo $$ > $h/cgroup.procs) 2>/dev/null && echo moved || echo move-refused
                (mkdir $h$p/sub) 2>/dev/null && echo made-child || echo child-refused
                """
            : $"""
                p=$(grep ':memory:' /proc/self/cgroup | cut -d: -f3)
                {inOwn}
                (echo -1 > /sys/fs/cgroup/memory$p/memory.limit_in_bytes) 2>/dev/null && echo wrote-limit || echo limit-refused
                (echo $$ > /sys/fs/cgroup/memory/cgroup.procs) 2>/dev/null && echo moved || echo move-refused
                (mkdir /sys/fs/cgroup/memory$p/sub) 2>/dev/null && echo made-child || echo child-refused
                """;
        var launch = Launch(npid, script, 201234, 201234);
        launch.Spec.MemoryBytes = 64L * 1024 * 1024;
        Assert.Equal(["limit-refused", "move-refused", "child-refused"], (await RunAsync(launch)).Split('\n'));
    }
}
