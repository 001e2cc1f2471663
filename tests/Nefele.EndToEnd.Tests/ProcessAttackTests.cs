using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Nefele.Client;
using Nefele.Processes;
using Nefele.Protocol.V1;
using Xunit;
using ProcessSpec = Nefele.Client.ProcessSpec;
using ProcessState = Nefele.Client.ProcessState;

namespace Nefele.EndToEnd.Tests;

/// <summary>
/// The attack suite for what runs on a node: real processes of tenant "attacker" try to reach
/// tenant "victim" through the machine (its log file, its pid, hostd's control socket, a faked
/// handshake) and the machine's own secrets. Every attempt fails, and the victim's process, its
/// output and the node are untouched afterwards.
/// </summary>
public sealed class ProcessAttackTests(SecurityFixture fixture) : IClassFixture<SecurityFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private static readonly string[] IdArgs = ["-u"];
    private readonly string _secret = "victim-secret-" + Guid.NewGuid().ToString("N");
    private NefeleConnection _attackerConnection = null!;
    private NefeleTenant _attacker = null!;
    private string _victimNpid = null!;
    private int _victimPid;

    private NodeUnderTest Node => fixture.Node;

    private string VictimLog => Path.Combine(Node.RunDir, "logs", _victimNpid + ".log");

    /// <summary>A victim process that has written something worth stealing, and a connection with the attacker's key.</summary>
    public async Task InitializeAsync()
    {
        _victimNpid = await fixture.VictimAdmin.SpawnAsync(new ProcessSpec { Path = "/bin/sh", Args = ["-c", $"echo {_secret}; exec sleep 600"] });
        await Eventually.Until(async () => Encoding.UTF8.GetString((await fixture.VictimAdmin.ReadLogsAsync(_victimNpid)).Data).Contains(_secret, StringComparison.Ordinal), Bound, "the victim's output");
        _victimPid = (await fixture.VictimAdmin.GetAsync(_victimNpid)).Pid;
        _attackerConnection = await Node.ConnectAsync(fixture.AttackerMember);
        _attacker = new NefeleTenant(_attackerConnection.Grains, SecurityFixture.Attacker);
    }

    /// <summary>After every attack: the victim runs, its output is intact, its log is still closed to others, the node serves.</summary>
    public async Task DisposeAsync()
    {
        try
        {
            var info = await fixture.VictimAdmin.GetAsync(_victimNpid);
            Assert.Equal(ProcessState.Running, info.State);
            Assert.True(Interop.IsRunning(_victimPid));
            Assert.Equal(_secret + "\n", Encoding.UTF8.GetString((await fixture.VictimAdmin.ReadLogsAsync(_victimNpid)).Data));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(VictimLog));
            using var health = await Node.Anonymous.GetAsync("/healthz");
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }
        finally
        {
            await Cleanup.KillAsync(fixture.VictimAdmin, _victimNpid);
            await _attackerConnection.DisposeAsync();
        }
    }

    [Fact]
    public async Task Attacker_process_cannot_read_or_list_the_victims_log()
    {
        var output = await RunAsAttackerAsync(
            $"cat {VictimLog} 2>&1 || echo refused; ls {Path.GetDirectoryName(VictimLog)} 2>&1 || echo refused; grep -r victim-secret {Node.RunDir} 2>&1; echo done");
        Assert.DoesNotContain(_secret, output, StringComparison.Ordinal);
        Assert.Equal(2, output.Split('\n').Count(l => l == "refused"));
        Assert.Contains("Permission denied", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Attacker_process_cannot_signal_the_victims_pid()
    {
        var output = await RunAsAttackerAsync($"for s in KILL TERM STOP; do kill -$s {_victimPid} 2>&1; echo rc=$?; done");
        Assert.Equal(3, output.Split('\n').Count(l => l == "rc=1"));
        Assert.Contains("Operation not permitted", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Attacker_process_cannot_connect_to_hostds_control_socket()
    {
        const string script = """
            import socket, sys
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(sys.argv[1])
                print("connected")
            except OSError as e:
                print("refused", e.errno)
            """;
        var output = await RunAsAttackerAsync("/usr/bin/python3", "-c", script, Path.Combine(Node.RunDir, "control.sock"));
        Assert.Equal("refused 13", output.Trim());
    }

    [Fact]
    public async Task Attacker_process_cannot_read_etc_shadow()
    {
        var output = await RunAsAttackerAsync("cat /etc/shadow 2>&1; echo rc=$?; id -u");
        var lines = output.Trim().Split('\n');
        Assert.Contains("Permission denied", lines[0], StringComparison.Ordinal);
        Assert.Equal("rc=1", lines[1]);
        Assert.NotEqual("0", lines[2]);
        Assert.DoesNotContain("root:", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Faked_handshake_for_the_victims_npid_is_refused_and_the_caller_stays_itself()
    {
        // A hello claiming the victim's pid with a made-up token, then the connection asks who it is.
        var hello = new ProcRequest { Id = 1, Hello = new Hello { Token = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()), Pid = _victimPid } };
        var self = new ProcRequest { Id = 2, Self = new SelfRequest() };
        const string script = """
            import os, socket, struct, sys
            s = socket.socket(socket.AF_UNIX)
            s.connect(os.environ["NEFELE_SOCKET"])
            for frame in sys.argv[1:]:
                b = bytes.fromhex(frame)
                s.sendall(struct.pack(">I", len(b)) + b)
                n = struct.unpack(">I", s.recv(4, socket.MSG_WAITALL))[0]
                print(s.recv(n, socket.MSG_WAITALL).hex(), flush=True)
            """;
        var output = await RunAsAttackerAsync("/usr/bin/python3", "-c", script, Hex(hello), Hex(self));
        var replies = output.Trim().Split('\n').Select(l => ProcResponse.Parser.ParseFrom(Convert.FromHexString(l))).ToList();
        Assert.Equal(2, replies.Count);
        Assert.Equal(ProcResponse.BodyOneofCase.Refused, replies[0].BodyCase);
        Assert.Equal("unknown launch token", replies[0].Refused.Reason);
        Assert.Equal(ProcResponse.BodyOneofCase.Self, replies[1].BodyCase);
        Assert.Equal(SecurityFixture.Attacker, replies[1].Self.Tenant);
        Assert.NotEqual(_victimNpid, replies[1].Self.Npid);
    }

    [Fact]
    public async Task Process_spawned_over_REST_in_the_default_tenant_runs_as_a_non_root_uid()
    {
        using var spawn = await Node.Http.PostAsJsonAsync("/v1/tenants/default/spawn", new { tasks = new[] { new { path = "/usr/bin/id", args = IdArgs } } }).WaitAsync(Bound);
        Assert.True(spawn.IsSuccessStatusCode, await spawn.Content.ReadAsStringAsync());
        using var body = JsonDocument.Parse(await spawn.Content.ReadAsStringAsync());
        var npid = body.RootElement.GetProperty("npids")[0].GetString()!;
        var tenant = await Node.SdkAsync("default");
        Assert.Equal("exited 0", (await tenant.WaitAsync(npid).WaitAsync(Bound)).Describe());
        var uid = (await Node.Http.GetStringAsync($"/v1/tenants/default/processes/{npid}/logs").WaitAsync(Bound)).Trim();
        Assert.True(long.Parse(uid, System.Globalization.CultureInfo.InvariantCulture) > 0, $"uid {uid}");
    }

    private static string Hex(IMessage message) => Convert.ToHexString(message.ToByteArray());

    private Task<string> RunAsAttackerAsync(string script) => RunAsAttackerAsync("/bin/sh", "-c", script);

    /// <summary>Runs a process of the attacker tenant to its end and returns what it wrote.</summary>
    private async Task<string> RunAsAttackerAsync(string path, params string[] args)
    {
        var npid = await _attacker.SpawnAsync(new ProcessSpec { Path = path, Args = [.. args] }).WaitAsync(Bound);
        try
        {
            await _attacker.WaitAsync(npid).WaitAsync(Bound);
            var output = new StringBuilder();
            long offset = 0;
            while (true)
            {
                var chunk = await _attacker.ReadLogsAsync(npid, offset).WaitAsync(Bound);
                output.Append(Encoding.UTF8.GetString(chunk.Data));
                offset = chunk.NextOffset;
                if (chunk.Complete || chunk.Data.Length == 0)
                {
                    return output.ToString();
                }
            }
        }
        finally
        {
            await Cleanup.KillAsync(_attacker, npid);
        }
    }
}
