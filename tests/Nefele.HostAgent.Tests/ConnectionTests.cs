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
        Assert.Equal("v1", reply.Facts.Cgroups);
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

        await using var second = await hostd.ConnectAsync();
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
    public async Task A_new_connection_replaces_the_old_one()
    {
        await using var hostd = await HostdInstance.StartAsync();
        await using var old = await hostd.AttachAsync();
        await using var replacement = await hostd.AttachAsync();
        await old.Closed.Task.WaitAsync(SiloConnection.Timeout);
        await replacement.LaunchStartedAsync("after", Spec("/bin/true"));
        await replacement.NextExitAsync("after");
        await replacement.AckAsync("after");
    }

    [Fact]
    public async Task Program_that_never_loads_the_shim_fails_with_a_handshake_timeout()
    {
        await using var hostd = await HostdInstance.StartAsync("--shim", "/nonexistent/libnefele-shim.so", "--handshake-timeout", "1s");
        await using var silo = await hostd.AttachAsync();
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

        await LaunchTests.WaitUntil(() => File.Exists(Path.Combine(hostd.RunDirectory, "logs", "caller.log"))
            && new FileInfo(Path.Combine(hostd.RunDirectory, "logs", "caller.log")).Length > 0);
        var hex = (await File.ReadAllTextAsync(Path.Combine(hostd.RunDirectory, "logs", "caller.log"))).Trim();
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
