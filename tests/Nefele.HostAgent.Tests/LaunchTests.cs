using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Tests;

public sealed class LaunchTests : AttachedHostdTests
{
    private static ProcessSpec Spec(string path, params string[] args)
    {
        var spec = new ProcessSpec { Path = path };
        spec.Args.AddRange(args);
        return spec;
    }

    private static string NewNpid() => "p" + Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task Process_output_and_exit_code_are_reported()
    {
        var npid = NewNpid();
        var started = await Silo.LaunchStartedAsync(npid, Spec("/bin/sh", "-c", "echo hi; echo oops >&2; exit 3"));
        Assert.True(started.Pid > 0);
        Assert.True(started.StartedUnixMs > 0);

        var exit = await Silo.NextExitAsync(npid);
        Assert.Equal(ProcessState.Exited, exit.End.State);
        Assert.Equal(3, exit.End.ExitCode);
        Assert.Equal(0, exit.End.Signal);
        Assert.Equal(started.Pid, exit.Pid);
        Assert.Equal("acme", exit.Tenant);

        // stdout and stderr are kept apart, each record stamped with when hostd read it; the two
        // streams are read independently, so their relative order is only that of the reads.
        var records = await Silo.AllLogRecordsAsync(npid);
        Assert.Equal("hi\n", string.Concat(records.Where(r => r.Stream == LogStream.Stdout).Select(r => r.Data.ToStringUtf8())));
        Assert.Equal("oops\n", string.Concat(records.Where(r => r.Stream == LogStream.Stderr).Select(r => r.Data.ToStringUtf8())));
        Assert.All(records, r => Assert.InRange(r.TimeUnixNano / 1_000_000, started.StartedUnixMs - 1000, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
        Assert.True(records.Zip(records.Skip(1)).All(p => p.First.TimeUnixNano <= p.Second.TimeUnixNano && p.First.Offset + p.First.Data.Length <= p.Second.Offset), "records are in time and offset order");
        Assert.Equal("oops\n", await Silo.AllLogsAsync(npid, LogStream.Stderr));
        Assert.Equal("hi\n", await Silo.AllLogsAsync(npid, LogStream.Stdout));
        Assert.Equal(8, (await Silo.AllLogsAsync(npid)).Length);
        Assert.Equal(ControlEvent.BodyOneofCase.Ok, (await Silo.AckAsync(npid)).BodyCase);
    }

    [Fact]
    public async Task Launches_received_together_each_start_with_their_own_answer()
    {
        // Six launch frames in one write: hostd reads them from one receive, so all but the last
        // wait behind another, and each must still start and be answered under its own id.
        var npids = Enumerable.Range(0, 6).Select(_ => NewNpid()).ToList();
        var answers = await Silo.RequestTogetherAsync([.. npids.Select(npid => new ControlRequest
        {
            Launch = new LaunchRequest { Npid = npid, Tenant = "acme", Spec = Spec("/bin/sleep", "100"), Uid = SiloConnection.TenantUid, Gid = SiloConnection.TenantUid },
        })]);

        var pids = new List<int>();
        foreach (var answer in answers)
        {
            Assert.True(answer.Launched?.OutcomeCase == LaunchReply.OutcomeOneofCase.Started, $"expected started, got {answer}");
            pids.Add(answer.Launched.Started.Pid);
        }

        Assert.Equal(npids.Count, pids.Distinct().Count());
        Assert.All(pids, pid => Assert.True(Directory.Exists($"/proc/{pid}"), $"pid {pid} is not running"));
        foreach (var npid in npids)
        {
            Assert.Equal(ControlEvent.BodyOneofCase.Ok, (await Silo.SignalAsync(npid, 9)).BodyCase);
            Assert.Equal(9, (await Silo.NextExitAsync(npid)).End.Signal);
            await Silo.AckAsync(npid);
        }
    }

    [Fact]
    public async Task Launch_reply_precedes_the_exit_of_a_process_that_exits_at_once()
    {
        var npid = NewNpid();
        await Silo.LaunchStartedAsync(npid, Spec("/bin/true"));
        await Silo.NextExitAsync(npid);
        var order = Silo.All.Where(e => e.Launched is not null || e.Exited?.Npid == npid).Select(e => e.BodyCase).ToList();
        Assert.Equal([ControlEvent.BodyOneofCase.Launched, ControlEvent.BodyOneofCase.Exited], order);
        await Silo.AckAsync(npid);
    }

    [Fact]
    public async Task Signal_9_is_reported_as_the_terminating_signal()
    {
        var npid = NewNpid();
        await Silo.LaunchStartedAsync(npid, Spec("/bin/sleep", "100"));
        Assert.Equal(ControlEvent.BodyOneofCase.Ok, (await Silo.SignalAsync(npid, 9)).BodyCase);
        var exit = await Silo.NextExitAsync(npid);
        Assert.Equal(9, exit.End.Signal);
        Assert.Equal(-1, exit.End.ExitCode);
        Assert.False(exit.End.OomKilled);
        await Silo.AckAsync(npid);
    }

    [Fact]
    public async Task Segfault_is_reported_as_signal_11()
    {
        var npid = NewNpid();
        await Silo.LaunchStartedAsync(npid, Spec("/bin/sh", "-c", "kill -SEGV $$"));
        var exit = await Silo.NextExitAsync(npid);
        Assert.Equal(11, exit.End.Signal);
        await Silo.AckAsync(npid);
    }

    [Fact]
    public async Task Signal_to_an_unknown_or_exited_process_is_not_running()
    {
        var reply = await Silo.SignalAsync("nope", 15);
        Assert.Equal("not_running", reply.Error.Code);

        var npid = NewNpid();
        await Silo.LaunchStartedAsync(npid, Spec("/bin/true"));
        await Silo.NextExitAsync(npid);
        Assert.Equal("not_running", (await Silo.SignalAsync(npid, 15)).Error.Code);
        await Silo.AckAsync(npid);
    }

    [Fact]
    public async Task Nonexistent_path_is_rejected_as_program_not_found_naming_the_path()
    {
        var reply = await Silo.LaunchAsync(NewNpid(), Spec("/no/such/program"));
        Assert.Equal("program_not_found", reply.Rejected.Code);
        Assert.Contains("/no/such/program", reply.Rejected.Message, StringComparison.Ordinal);
        Assert.Contains("no such file", reply.Rejected.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Non_executable_file_is_rejected_as_permission_denied()
    {
        var file = Path.Combine(Hostd.RunDirectory, "not-executable");
        await File.WriteAllTextAsync(file, "#!/bin/sh\necho no\n");
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var reply = await Silo.LaunchAsync(NewNpid(), Spec(file));
        Assert.Equal("spawn_rejected", reply.Rejected.Code);
        Assert.Contains("permission denied: not executable", reply.Rejected.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_cwd_is_rejected()
    {
        var spec = Spec("/bin/true");
        spec.Cwd = "/no/such/dir";
        var reply = await Silo.LaunchAsync(NewNpid(), spec);
        Assert.Equal("spawn_rejected", reply.Rejected.Code);
        Assert.Contains("cwd /no/such/dir does not exist", reply.Rejected.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reserved_environment_names_are_rejected()
    {
        var spec = Spec("/bin/true");
        spec.Env["NEFELE_TOKEN"] = "mine";
        var reply = await Silo.LaunchAsync(NewNpid(), spec);
        Assert.Equal("spawn_rejected", reply.Rejected.Code);
        Assert.Contains("NEFELE_TOKEN is reserved", reply.Rejected.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Environment_cwd_and_argv_reach_the_program_and_hostd_variables_are_consumed_by_the_shim()
    {
        var npid = NewNpid();
        var spec = Spec("/bin/sh", "-c", "echo \"$GREETING|$(pwd)|$0|${NEFELE_TOKEN:-none}|${LD_PRELOAD:-none}|$NEFELE_SOCKET\"");
        spec.Env["GREETING"] = "hello world";
        spec.Cwd = "/tmp";
        await Silo.LaunchStartedAsync(npid, spec);
        await Silo.NextExitAsync(npid);
        var line = (await Silo.AllLogsAsync(npid)).Trim();
        Assert.Equal($"hello world|/tmp|/bin/sh|none|none|{Hostd.ApiSocket}", line);
        await Silo.AckAsync(npid);
    }

    [Fact]
    public async Task No_handshake_process_runs_without_the_shim()
    {
        var npid = NewNpid();
        var spec = Spec("/bin/sh", "-c", "echo \"${LD_PRELOAD:-none}\"; exit 7");
        spec.NoHandshake = true;
        await Silo.LaunchStartedAsync(npid, spec);
        var exit = await Silo.NextExitAsync(npid);
        Assert.Equal(7, exit.End.ExitCode);
        Assert.Equal("none\n", await Silo.AllLogsAsync(npid));
        await Silo.AckAsync(npid);
    }

    [SkippableFact]
    public async Task Memory_limit_is_enforced_and_reported_as_oom_killed()
    {
        Skip.If(HostCgroups.Flavor == "none", "this machine offers hostd no cgroup hierarchy: a memory limit cannot be enforced");
        var npid = NewNpid();
        var spec = Spec("/usr/bin/python3", "-c", "a = bytearray(200 * 1024 * 1024); print(len(a))");
        spec.MemoryBytes = 32L * 1024 * 1024;
        await Silo.LaunchStartedAsync(npid, spec);
        var exit = await Silo.NextExitAsync(npid);
        Assert.Equal(9, exit.End.Signal);
        Assert.True(exit.End.OomKilled, $"expected oom_killed, got {exit.End}");
        await Silo.AckAsync(npid);
    }

    [SkippableFact]
    public async Task Cgroup_limits_are_written_and_the_cgroup_is_removed_after_ack()
    {
        Skip.If(HostCgroups.Flavor == "none", "this machine offers hostd no cgroup hierarchy (neither v2 with memory and cpu nor writable v1): processes run without limits");
        var npid = NewNpid();
        var spec = Spec("/bin/sleep", "100");
        spec.CpuMillis = 500;
        spec.MemoryBytes = 64L * 1024 * 1024;
        var started = await Silo.LaunchStartedAsync(npid, spec);

        // The limits as the kernel's interface files of this machine's flavour hold them (64 MiB; half a core).
        var memory = HostCgroups.MemoryLimit(Hostd.Node, "acme", npid, 64L * 1024 * 1024);
        var cpu = HostCgroups.CpuLimit(Hostd.Node, "acme", npid, 500);
        Assert.Equal(memory.Value, (await File.ReadAllTextAsync(memory.File)).Trim());
        Assert.Equal(cpu.Value, (await File.ReadAllTextAsync(cpu.File)).Trim());
        var dirs = HostCgroups.ProcessDirectories(Hostd.Node, "acme", npid);
        Assert.All(dirs, d => Assert.Contains(started.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), File.ReadAllLines(Path.Combine(d, "cgroup.procs"))));

        var usage = await Silo.RequestAsync(new ControlRequest { Usage = new UsageRequest() });
        var mine = Assert.Single(usage.Usage.Processes, u => u.Npid == npid);
        Assert.True(mine.MemoryUsageBytes > 0);
        Assert.True(usage.Usage.NodeMemoryUsedBytes > 0);
        Assert.InRange(usage.Usage.NodeCpuLoad, 0, 1);

        await Silo.SignalAsync(npid, 9);
        await Silo.NextExitAsync(npid);
        await Silo.AckAsync(npid);
        Assert.All(dirs, d => Assert.False(Directory.Exists(d), $"{d} left after the ack"));

        // Output outlives the acknowledgement: logs of an ended process stay readable.
        var kept = await Silo.LogsAsync(npid, 0, waitMs: 0);
        Assert.True(kept.Complete);
    }

    [Fact]
    public async Task Logs_long_poll_returns_output_as_it_arrives()
    {
        var npid = NewNpid();
        await Silo.LaunchStartedAsync(npid, Spec("/bin/sh", "-c", "sleep 0.3; echo late; exec sleep 100"));
        var first = await Silo.LogsAsync(npid, 0, waitMs: 10_000);
        Assert.Equal("late\n", first.Data.ToStringUtf8());
        Assert.False(first.Complete);
        Assert.Equal(5, first.NextOffset);
        await Silo.SignalAsync(npid, 9);
        await Silo.NextExitAsync(npid);
        var rest = await Silo.LogsAsync(npid, first.NextOffset, waitMs: 10_000);
        Assert.True(rest.Complete);
        Assert.Empty(rest.Data);
        await Silo.AckAsync(npid);
    }

    [Fact]
    public async Task Forked_children_run_undisturbed_and_without_the_launch_token()
    {
        var npid = NewNpid();
        await Silo.LaunchStartedAsync(npid, Spec("/bin/sh", "-c", "/bin/sleep 30 & echo $!; wait"));
        var line = (await Silo.LogsAsync(npid, 0, waitMs: 10_000)).Data.ToStringUtf8().Trim();
        var child = int.Parse(line, System.Globalization.CultureInfo.InvariantCulture);
        try
        {
            // Until the forked shell has exec'd sleep, /proc still shows the shell's original environment block.
            await WaitUntil(() => File.ReadAllText($"/proc/{child}/cmdline").StartsWith("/bin/sleep", StringComparison.Ordinal));
            var environ = await File.ReadAllTextAsync($"/proc/{child}/environ");
            Assert.DoesNotContain("NEFELE_TOKEN=", environ, StringComparison.Ordinal);
            Assert.DoesNotContain("LD_PRELOAD=", environ, StringComparison.Ordinal);

            await Silo.SignalAsync(npid, 9);
            var exit = await Silo.NextExitAsync(npid);
            Assert.Equal(9, exit.End.Signal);
            Assert.True(ProcessAlive(child), "the child of the killed process should still run");
        }
        finally
        {
            Interop.LibC.kill(child, 9);
        }

        await WaitUntil(() => !ProcessAlive(child));
        await Silo.AckAsync(npid);
    }

    [Fact]
    public async Task Bad_token_is_refused_and_the_program_exits_121()
    {
        using var process = new System.Diagnostics.Process();
        process.StartInfo = new System.Diagnostics.ProcessStartInfo("/bin/true")
        {
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        process.StartInfo.Environment["LD_PRELOAD"] = NativeBuild.ShimPath;
        process.StartInfo.Environment["NEFELE_SOCKET"] = Hostd.ApiSocket;
        process.StartInfo.Environment["NEFELE_TOKEN"] = "bogus";
        process.Start();
        var stderr = await process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(SiloConnection.Timeout);
        await process.WaitForExitAsync(cts.Token);
        Assert.Equal(121, process.ExitCode);
        Assert.Contains("unknown launch token", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Api_self_is_answered_by_hostd_and_ps_is_forwarded_to_the_silo()
    {
        const string script = """
            import os, socket, struct, sys
            s = socket.socket(socket.AF_UNIX)
            s.connect(os.environ["NEFELE_SOCKET"])
            def call(h):
                b = bytes.fromhex(h)
                s.sendall(struct.pack(">I", len(b)) + b)
                n = struct.unpack(">I", s.recv(4, socket.MSG_WAITALL))[0]
                return s.recv(n, socket.MSG_WAITALL).hex() if n else ""
            for h in sys.argv[1:]:
                print(call(h), flush=True)
            """;
        var self = Convert.ToHexString(Google.Protobuf.MessageExtensions.ToByteArray(new ProcRequest { Id = 7, Self = new SelfRequest() }));
        var ps = Convert.ToHexString(Google.Protobuf.MessageExtensions.ToByteArray(new ProcRequest { Id = 8, Ps = new PsRequest() }));
        var npid = NewNpid();
        await Silo.LaunchStartedAsync(npid, Spec("/usr/bin/python3", "-c", script, self, ps));

        var call = await Silo.NextEventAsync();
        Assert.Equal(ControlEvent.BodyOneofCase.ProcCall, call.BodyCase);
        Assert.Equal(npid, call.ProcCall.CallerNpid);
        Assert.Equal("acme", call.ProcCall.Tenant);
        Assert.Equal(ProcRequest.BodyOneofCase.Ps, call.ProcCall.Request.BodyCase);
        var answer = new PsReply();
        answer.Processes.Add(new ProcessInfo { Npid = "someone" });
        await Silo.SendAsync(new ControlRequest { ProcReply = new ProcCallReply { CallId = call.ProcCall.CallId, Response = new ProcResponse { Ps = answer } } });

        var exit = await Silo.NextExitAsync(npid);
        var lines = (await Silo.AllLogsAsync(npid)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(exit.End.ExitCode == 0, string.Join('\n', lines));
        var selfReply = ProcResponse.Parser.ParseFrom(Convert.FromHexString(lines[0]));
        Assert.Equal(7UL, selfReply.Id);
        Assert.Equal(npid, selfReply.Self.Npid);
        Assert.Equal(Hostd.Node, selfReply.Self.Node);
        var psReply = ProcResponse.Parser.ParseFrom(Convert.FromHexString(lines[1]));
        Assert.Equal(8UL, psReply.Id);
        Assert.Equal("someone", Assert.Single(psReply.Ps.Processes).Npid);
        await Silo.AckAsync(npid);
    }

    [Fact]
    public async Task Api_call_from_a_process_hostd_did_not_start_is_refused()
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        await socket.ConnectAsync(new System.Net.Sockets.UnixDomainSocketEndPoint(Hostd.ApiSocket));
        await using var stream = new System.Net.Sockets.NetworkStream(socket);
        await Nefele.Protocol.FrameCodec.WriteAsync(stream, new ProcRequest { Id = 3, Self = new SelfRequest() }, CancellationToken.None);
        var reply = await Nefele.Protocol.FrameCodec.ReadAsync(stream, ProcResponse.Parser, CancellationToken.None);
        Assert.Equal(3UL, reply!.Id);
        Assert.Equal("not_a_nefele_process", reply.Error.Code);
    }

    internal static bool ProcessAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    internal static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + SiloConnection.Timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within the time limit");
            await Task.Delay(20);
        }
    }
}
