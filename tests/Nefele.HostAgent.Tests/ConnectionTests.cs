using System.Buffers.Binary;
using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Tests;

public sealed class ConnectionTests
{
    private static ProcessSpec Spec(string path, params string[] args)
    {
        var spec = new ProcessSpec { Path = path };
        spec.Args.AddRange(args);
        return spec;
    }

    [Fact]
    public async Task Attach_reports_node_facts()
    {
        await using var hostd = await HostdInstance.StartAsync();
        await using var silo = await hostd.ConnectAsync();
        var reply = await silo.AttachAsync(hostd.Node);
        Assert.Equal(hostd.Node, reply.Facts.Node);
        Assert.Equal("native", reply.Facts.Engine);
        Assert.Equal(hostd.ApiSocket, reply.Facts.ApiSocket);
        Assert.Equal(HostCgroups.Flavor, reply.Facts.Cgroups);
        Assert.True(reply.Facts.Cpus >= 1);
        Assert.True(reply.Facts.MemoryBytes > 0);
        Assert.Empty(reply.Processes);
        Assert.Empty(reply.PendingExits);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(hostd.ControlSocket));
    }

    [Fact]
    public async Task Reconnected_silo_gets_live_processes_and_unacknowledged_exits()
    {
        await using var hostd = await HostdInstance.StartAsync();
        var first = await hostd.AttachAsync();
        var sleeper = await first.LaunchStartedAsync("sleeper", Spec("/bin/sleep", "100"));
        await first.LaunchStartedAsync("quitter", Spec("/bin/sh", "-c", "exit 5"));
        await first.NextExitAsync("quitter");
        await first.DisposeAsync();

        var second = await hostd.ConnectAsync();
        var reply = await second.AttachAsync(hostd.Node);
        var live = Assert.Single(reply.Processes);
        Assert.Equal("sleeper", live.Npid);
        Assert.Equal(sleeper.Pid, live.Pid);
        Assert.True(live.Running);
        Assert.Equal("/bin/sleep", live.Spec.Path);
        var pending = Assert.Single(reply.PendingExits);
        Assert.Equal("quitter", pending.Npid);
        Assert.Equal(5, pending.End.ExitCode);

        await second.AckAsync("quitter");
        await second.SignalAsync("sleeper", 9);
        Assert.Equal(9, (await second.NextExitAsync("sleeper")).End.Signal);
        await second.AckAsync("sleeper");
        await second.DisposeAsync();

        await using var third = await hostd.ConnectAsync();
        var after = await third.AttachAsync(hostd.Node);
        Assert.Empty(after.Processes);
        Assert.Empty(after.PendingExits);
    }

    [Fact]
    public async Task Exit_while_no_silo_is_attached_is_kept_until_acknowledged()
    {
        await using var hostd = await HostdInstance.StartAsync();
        var first = await hostd.AttachAsync();
        await first.LaunchStartedAsync("waiter", Spec("/bin/sh", "-c", "sleep 0.5"));
        await first.DisposeAsync();

        await using var second = await hostd.ConnectAsync();
        var exit = await WaitForPendingExit(second, hostd.Node, "waiter");
        Assert.Equal(0, exit.End.ExitCode);
        await second.AckAsync("waiter");
    }

    [Fact]
    public async Task Malformed_frame_gets_bad_frame_and_hostd_keeps_serving()
    {
        await using var hostd = await HostdInstance.StartAsync();
        await using (var bad = await hostd.ConnectAsync())
        {
            var frame = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(frame, 64u * 1024 * 1024);
            await bad.SendRawAsync(frame);
            var error = await bad.NextEventAsync();
            Assert.Equal("bad_frame", error.Error.Code);
            await bad.Closed.Task.WaitAsync(SiloConnection.Timeout);
        }

        await using var good = await hostd.ConnectAsync();
        Assert.Equal(hostd.Node, (await good.AttachAsync(hostd.Node)).Facts.Node);
    }

    [Fact]
    public async Task A_second_connection_is_refused_while_the_first_lives()
    {
        await using var hostd = await HostdInstance.StartAsync();
        await using var first = await hostd.AttachAsync();
        await using var second = await hostd.ConnectAsync();
        var refused = await second.TryAttachAsync(hostd.Node, Secret(hostd));
        Assert.Equal("already_attached", refused.Error.Code);
        Assert.Contains("a second one is refused while it lives", refused.Error.Message, StringComparison.Ordinal);
        await second.Closed.Task.WaitAsync(SiloConnection.Timeout);

        // The first is untouched and keeps serving.
        Assert.False(first.Closed.Task.IsCompleted);
        await first.LaunchStartedAsync("after", Spec("/bin/true"));
        await first.NextExitAsync("after");
        await first.AckAsync("after");
    }

    [Fact]
    public async Task A_silo_that_closed_its_connection_is_followed_at_once_by_the_next()
    {
        await using var hostd = await HostdInstance.StartAsync();
        for (var i = 0; i < 5; i++)
        {
            await using var silo = await hostd.AttachAsync();
        }

        await using var last = await hostd.AttachAsync();
        await last.LaunchStartedAsync("after", Spec("/bin/true"));
        await last.NextExitAsync("after");
        await last.AckAsync("after");
    }

    [Fact]
    public async Task Wrong_or_missing_secret_is_refused_and_the_attached_silo_is_untouched()
    {
        await using var hostd = await HostdInstance.StartAsync();
        await using var silo = await hostd.AttachAsync();
        var right = Secret(hostd).ToByteArray();
        var wrong = (byte[])right.Clone();
        wrong[^1] ^= 1;
        foreach (var secret in new[] { Google.Protobuf.ByteString.CopyFrom(wrong), Google.Protobuf.ByteString.Empty })
        {
            await using var intruder = await hostd.ConnectAsync();
            var refused = await intruder.TryAttachAsync(hostd.Node, secret);
            Assert.Equal("unauthenticated", refused.Error.Code);
            Assert.Contains("control secret", refused.Error.Message, StringComparison.Ordinal);
            await intruder.Closed.Task.WaitAsync(SiloConnection.Timeout);
        }

        await using (var intruder = await hostd.ConnectAsync())
        {
            var refused = await intruder.RequestAsync(new ControlRequest { Launch = new LaunchRequest { Npid = "x", Tenant = "acme", Spec = Spec("/bin/true") } });
            Assert.Equal("unauthenticated", refused.Error.Code);
            Assert.Contains("first request must be an attach", refused.Error.Message, StringComparison.Ordinal);
        }

        Assert.False(silo.Closed.Task.IsCompleted);
        await silo.LaunchStartedAsync("still", Spec("/bin/true"));
        await silo.NextExitAsync("still");
        await silo.AckAsync("still");
    }

    [Fact]
    public async Task Connection_from_another_uid_than_the_silos_is_refused()
    {
        await using var hostd = await HostdInstance.StartAsync("--silo-uid", "4242");
        Assert.Equal(4242, Owner(hostd.ControlSocket));

        // This test runs as root, which may connect whatever the file's owner: the peer's uid is what counts.
        await using var root = await hostd.ConnectAsync();
        var refused = await root.NextEventAsync();
        Assert.Equal("unauthenticated", refused.Error.Code);
        Assert.Contains("serves only the silo's uid 4242; pid", refused.Error.Message, StringComparison.Ordinal);
        await root.Closed.Task.WaitAsync(SiloConnection.Timeout);
    }

    [Fact]
    public async Task Control_secret_is_made_once_owner_only_and_kept_across_restarts()
    {
        var runDir = Path.Combine(Path.GetTempPath(), "nh-s" + Guid.NewGuid().ToString("N")[..8]);
        var secretFile = Path.Combine(runDir, "secret");
        try
        {
            string first;
            await using (var hostd = await HostdInstance.StartAsync("--control-secret-file", secretFile, "--silo-uid", "4242"))
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(secretFile));
                Assert.Equal(4242, Owner(secretFile));
                first = File.ReadAllText(secretFile).Trim();
                Assert.Equal(64, first.Length);
                Assert.True(first.All(Uri.IsHexDigit));
            }

            await using (await HostdInstance.StartAsync("--control-secret-file", secretFile))
            {
                Assert.Equal(first, File.ReadAllText(secretFile).Trim());
            }

            File.SetUnixFileMode(secretFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
            var e = await Assert.ThrowsAsync<HostAgentStartupException>(() => HostdInstance.StartAsync("--control-secret-file", secretFile));
            Assert.Contains("readable by its owner only", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(runDir, recursive: true);
        }
    }

    private static Google.Protobuf.ByteString Secret(HostdInstance hostd) =>
        Google.Protobuf.ByteString.CopyFromUtf8(File.ReadAllText(Path.Combine(hostd.RunDirectory, "control.secret")).Trim());

    private static long Owner(string path) => FileOwner.Uid(path);

    [Fact]
    public async Task Program_that_never_loads_the_shim_fails_with_a_handshake_timeout()
    {
        await using var hostd = await HostdInstance.StartAsync("--shim", "/nonexistent/libnefele-shim.so", "--handshake-timeout", "1s");
        var silo = await hostd.AttachAsync();
        var reply = await silo.LaunchAsync("static", Spec("/bin/sleep", "100"));
        Assert.Equal(LaunchReply.OutcomeOneofCase.Failed, reply.OutcomeCase);
        Assert.True(reply.Failed.Pid > 0);
        Assert.StartsWith("no handshake within 1s: the program did not load libnefele-shim.so", reply.Failed.Reason, StringComparison.Ordinal);
        await LaunchTests.WaitUntil(() => !LaunchTests.ProcessAlive(reply.Failed.Pid));

        // The failed start is the end: no exit follows and nothing is kept.
        await silo.LaunchStartedAsync("marker", new ProcessSpec { Path = "/bin/true", NoHandshake = true });
        var next = await silo.NextEventAsync();
        Assert.Equal("marker", next.Exited.Npid);
        await silo.AckAsync("marker");
        await silo.DisposeAsync();
        await using var again = await hostd.ConnectAsync();
        var attach = await again.AttachAsync(hostd.Node);
        Assert.Empty(attach.Processes);
        Assert.Empty(attach.PendingExits);
    }

    [Fact]
    public async Task Relaunching_the_same_npid_returns_the_first_answer()
    {
        await using var hostd = await HostdInstance.StartAsync();
        await using var silo = await hostd.AttachAsync();
        var first = await silo.LaunchStartedAsync("once", Spec("/bin/sleep", "100"));
        var again = await silo.LaunchStartedAsync("once", Spec("/bin/sleep", "100"));
        Assert.Equal(first.Pid, again.Pid);
        await silo.SignalAsync("once", 9);
        await silo.NextExitAsync("once");
        await silo.AckAsync("once");
    }

    [Fact]
    public async Task Api_call_without_an_attached_silo_is_control_plane_unavailable()
    {
        await using var hostd = await HostdInstance.StartAsync();
        var silo = await hostd.AttachAsync();
        const string script = """
            import os, socket, struct, sys
            s = socket.socket(socket.AF_UNIX)
            s.connect(os.environ["NEFELE_SOCKET"])
            b = bytes.fromhex(sys.argv[1])
            import time
            while os.path.exists(sys.argv[2]): time.sleep(0.05)
            s.sendall(struct.pack(">I", len(b)) + b)
            n = struct.unpack(">I", s.recv(4, socket.MSG_WAITALL))[0]
            print(s.recv(n, socket.MSG_WAITALL).hex(), flush=True)
            """;
        var gate = Path.Combine(hostd.RunDirectory, "gate");
        await File.WriteAllTextAsync(gate, "");
        var ps = Convert.ToHexString(Google.Protobuf.MessageExtensions.ToByteArray(new ProcRequest { Id = 4, Ps = new PsRequest() }));
        await silo.LaunchStartedAsync("caller", Spec("/usr/bin/python3", "-c", script, ps, gate));
        await silo.DisposeAsync();
        File.Delete(gate);

        var file = Path.Combine(hostd.RunDirectory, "logs", "caller.log");
        string Output() => File.Exists(file) ? string.Concat(Nefele.HostAgent.Logs.LogRecordFormat.ReadFile(file).Select(r => r.Data.ToStringUtf8())) : "";
        await LaunchTests.WaitUntil(() => Output().EndsWith('\n'));
        var hex = Output().Trim();
        var reply = ProcResponse.Parser.ParseFrom(Convert.FromHexString(hex));
        Assert.Equal(4UL, reply.Id);
        Assert.Equal("control_plane_unavailable", reply.Error.Code);

        await using var again = await hostd.ConnectAsync();
        await WaitForPendingExit(again, hostd.Node, "caller");
        await again.AckAsync("caller");
    }

    private static async Task<ProcessExited> WaitForPendingExit(SiloConnection silo, string node, string npid)
    {
        var reply = await silo.AttachAsync(node);
        if (reply.PendingExits.FirstOrDefault(e => e.Npid == npid) is { } pending)
        {
            return pending;
        }

        return await silo.NextExitAsync(npid);
    }
}
