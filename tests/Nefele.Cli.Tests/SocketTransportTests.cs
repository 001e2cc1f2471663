using Google.Protobuf;
using Nefele.Protocol.V1;

namespace Nefele.Cli.Tests;

public sealed class SocketTransportTests
{
    private const string A = "0123456789abc";
    private const string B = "0123456789abd";

    private static Dictionary<string, string?> Env(FakeApiSocket socket) =>
        new() { ["NEFELE_SOCKET"] = socket.Path, ["NEFELE_API"] = "http://127.0.0.1:1", ["NEFELE_TENANT"] = "ignored" };

    [Fact]
    public async Task Spawn_sends_the_task_and_count_over_the_socket()
    {
        await using var socket = new FakeApiSocket(_ => Task.FromResult(new ProcResponse { Spawn = new SpawnReply { Npids = { A, B } } }));

        var run = await NefRun.RunAsync(Env(socket), "nspawn", "2", "--cpu", "250m", "--env", "K=V", "--", "/bin/sleep", "5");

        Assert.Equal((0, $"{A}\n{B}\n", string.Empty), (run.Status, run.Out, run.Err));
        var spawn = Assert.Single(socket.Requests).Spawn;
        Assert.Equal(2u, spawn.Count);
        var task = Assert.Single(spawn.Tasks);
        Assert.Equal("/bin/sleep", task.Path);
        Assert.Equal(["5"], task.Args);
        Assert.Equal(250, task.CpuMillis);
        Assert.Equal("V", task.Env["K"]);
    }

    [Fact]
    public async Task Monitors_share_the_connection_and_print_as_processes_end()
    {
        var releaseA = new TaskCompletionSource();
        await using var socket = new FakeApiSocket(async request =>
        {
            var npid = request.Monitor.Npid;
            if (npid == A)
            {
                // A ends after B: its reply comes second although it was asked first.
                await releaseA.Task;
            }

            var end = npid == A
                ? new ProcessEnd { State = ProcessState.Exited, ExitCode = -1, Signal = 11, CoreDumped = true }
                : new ProcessEnd { State = ProcessState.Lost, ExitCode = -1, Reason = "node n2 stopped answering" };
            return new ProcResponse { Monitor = new MonitorReply { Npid = npid, End = end } };
        });

        // A is answered only once B's line has been printed.
        var output = new LineWatchingWriter(line =>
        {
            if (line.StartsWith(B, StringComparison.Ordinal))
            {
                releaseA.TrySetResult();
            }
        });
        var run = await NefRun.RunAsync(Env(socket), output, "monitor", A, B);

        Assert.Equal(0, run.Status);
        Assert.Equal($"{B}: lost: node n2 stopped answering\n{A}: killed by SIGSEGV (core dumped)\n", run.Out);
    }

    [Fact]
    public async Task Errors_from_hostd_are_printed_with_exit_status_1()
    {
        await using var socket = new FakeApiSocket(_ => Task.FromResult(new ProcResponse
        {
            Error = new Error { Code = "npid_not_found", Message = $"no process {A} in this tenant" },
        }));

        var run = await NefRun.RunAsync(Env(socket), "kill", "-KILL", A, B);

        Assert.Equal((1, $"nef: no process {A} in this tenant\n"), (run.Status, run.Err));
        var kill = Assert.Single(socket.Requests).Kill;
        Assert.Equal(9, kill.Signal);
        Assert.Equal([A, B], kill.Npids);
    }

    [Fact]
    public async Task Logs_follow_polls_until_complete()
    {
        // Output, then nothing new yet (nef waits and asks again), then the rest and the end.
        LogsReply[] replies =
        [
            new() { Data = ByteString.CopyFromUtf8("hello "), NextOffset = 6 },
            new() { NextOffset = 6 },
            new() { Data = ByteString.CopyFromUtf8("world\n"), NextOffset = 12, Complete = true },
        ];
        var calls = -1;
        await using var socket = new FakeApiSocket(_ =>
            Task.FromResult(new ProcResponse { Logs = replies[Interlocked.Increment(ref calls)] }));

        var run = await NefRun.RunAsync(Env(socket), "logs", "-f", A);

        Assert.Equal((0, "hello world\n"), (run.Status, run.Out));
        Assert.Equal([0L, 6L, 6L], socket.Requests.Select(r => r.Logs.Offset));
    }

    [Fact]
    public async Task Logs_without_follow_stops_when_caught_up()
    {
        LogsReply[] replies =
        [
            new() { Data = ByteString.CopyFromUtf8("so far"), NextOffset = 6 },
            new() { NextOffset = 6 },
        ];
        var calls = -1;
        await using var socket = new FakeApiSocket(_ =>
            Task.FromResult(new ProcResponse { Logs = replies[Interlocked.Increment(ref calls)] }));

        var run = await NefRun.RunAsync(Env(socket), "logs", A);

        Assert.Equal((0, "so far"), (run.Status, run.Out));
        Assert.Equal(2, socket.Requests.Count);
    }

    [Fact]
    public async Task Ps_maps_proto_states_to_the_same_names_as_the_rest_api()
    {
        await using var socket = new FakeApiSocket(_ => Task.FromResult(new ProcResponse
        {
            Ps = new PsReply
            {
                Processes =
                {
                    new ProcessInfo
                    {
                        Npid = A, Node = "n1", Pid = 9, State = ProcessState.FailedToStart, CpuMillis = 500,
                        MemoryBytes = 1 << 30, StartedUnixMs = DateTimeOffset.UtcNow.AddSeconds(-3).ToUnixTimeMilliseconds(),
                        Command = "/bin/prog -x",
                    },
                },
            },
        }));

        var run = await NefRun.RunAsync(Env(socket), "ps");

        Assert.Equal(0, run.Status);
        Assert.Matches(@"\n0123456789abc  n1    9    FailedToStart  -/500m  -/1Gi  [0-9]s +/bin/prog -x\n$", run.Out);
    }

    [Fact]
    public async Task Partial_spawn_is_a_usage_error_inside_a_process()
    {
        await using var socket = new FakeApiSocket(_ => Task.FromResult(new ProcResponse { Spawn = new SpawnReply() }));

        var run = await NefRun.RunAsync(Env(socket), "nspawn", "2", "--partial", "--", "/bin/true");

        Assert.Equal(2, run.Status);
        Assert.StartsWith("nef: --partial is not available inside a Nefele process", run.Err, StringComparison.Ordinal);
        Assert.Empty(socket.Requests);
    }

    [Fact]
    public async Task An_absent_socket_is_reported_clearly()
    {
        var path = Path.Combine(Path.GetTempPath(), $"nef-missing-{Guid.NewGuid():N}.sock");

        var run = await NefRun.RunAsync(new Dictionary<string, string?> { ["NEFELE_SOCKET"] = path }, "ps");

        Assert.Equal(1, run.Status);
        Assert.StartsWith($"nef: cannot reach the api socket at {path} (NEFELE_SOCKET): ", run.Err, StringComparison.Ordinal);
    }

    private sealed class LineWatchingWriter(Action<string> onLine) : StringWriter
    {
        public override async Task WriteLineAsync(string? value)
        {
            await base.WriteLineAsync(value);
            onLine(value ?? string.Empty);
        }
    }
}
