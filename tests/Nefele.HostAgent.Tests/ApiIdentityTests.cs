using System.Net.Sockets;
using Google.Protobuf;
using Nefele.Protocol;
using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Tests;

/// <summary>Who speaks on the api socket is what the kernel says, not what the caller claims.</summary>
public sealed class ApiIdentityTests : AttachedHostdTests
{
    private const string SelfScript = """
        import os, socket, struct, sys
        s = socket.socket(socket.AF_UNIX)
        s.connect(os.environ["NEFELE_SOCKET"])
        b = bytes.fromhex(sys.argv[1])
        s.sendall(struct.pack(">I", len(b)) + b)
        n = struct.unpack(">I", s.recv(4, socket.MSG_WAITALL))[0]
        print(s.recv(n, socket.MSG_WAITALL).hex(), flush=True)
        """;

    private static string SelfRequestHex() => Convert.ToHexString(new ProcRequest { Id = 9, Self = new SelfRequest() }.ToByteArray());

    [SkippableFact]
    public async Task A_descendant_of_a_process_speaks_for_that_process_found_by_its_cgroup()
    {
        Skip.If(HostCgroups.Flavor == "none", "this machine offers hostd no cgroup hierarchy: there is no cgroup to find a descendant by");
        // sh forks python (the "; true" keeps sh from exec'ing it): the caller is a child, not the launched pid.
        var spec = new ProcessSpec { Path = "/bin/sh" };
        spec.Args.AddRange(["-c", "/usr/bin/python3 -c \"$0\" \"$1\"; true", SelfScript, SelfRequestHex()]);
        await Silo.LaunchStartedAsync("parent", spec);
        await Silo.NextExitAsync("parent");
        var reply = ProcResponse.Parser.ParseFrom(Convert.FromHexString((await Silo.AllLogsAsync("parent")).Trim()));
        await Silo.AckAsync("parent");
        Assert.Equal(9UL, reply.Id);
        Assert.Equal(ProcResponse.BodyOneofCase.Self, reply.BodyCase);
        Assert.Equal("parent", reply.Self.Npid);
        Assert.Equal("acme", reply.Self.Tenant);
    }

    [Fact]
    public async Task A_program_outside_every_nefele_process_is_not_a_nefele_process()
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(Hostd.ApiSocket));
        await using var stream = new NetworkStream(socket);
        using var cts = new CancellationTokenSource(SiloConnection.Timeout);

        // Claiming a launched pid in a hello does not make it that process either.
        var pid = (await Silo.LaunchStartedAsync("victim", new ProcessSpec { Path = "/bin/sleep", Args = { "100" } })).Pid;
        await FrameCodec.WriteAsync(stream, new ProcRequest { Id = 1, Hello = new Hello { Token = "0123456789abcdef0123456789abcdef", Pid = pid } }, cts.Token);
        var hello = await FrameCodec.ReadAsync(stream, ProcResponse.Parser, cts.Token);
        Assert.Equal(ProcResponse.BodyOneofCase.Refused, hello!.BodyCase);

        await FrameCodec.WriteAsync(stream, new ProcRequest { Id = 2, Self = new SelfRequest() }, cts.Token);
        var self = await FrameCodec.ReadAsync(stream, ProcResponse.Parser, cts.Token);
        Assert.Equal(ProcResponse.BodyOneofCase.Error, self!.BodyCase);
        Assert.Contains("neither a running Nefele process", self.Error.Message, StringComparison.Ordinal);

        await Silo.SignalAsync("victim", 9);
        await Silo.NextExitAsync("victim");
        await Silo.AckAsync("victim");
    }
}
