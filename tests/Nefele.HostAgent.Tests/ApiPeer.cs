using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Nefele.Processes;
using Nefele.Protocol;
using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Tests;

/// <summary>
/// A real Nefele process (python, handshaken through the shim) whose api socket connection the
/// test drives: the process connects to NEFELE_SOCKET, says which descriptor it got, and sleeps;
/// the test takes a duplicate of that descriptor (pidfd_getfd, as root) and speaks on it. hostd
/// sees the process as the caller, as it would for libnefele. Disposing kills the process by NPID.
/// </summary>
internal sealed partial class ApiPeer : IAsyncDisposable
{
    private const string Script = """
        import os, signal, socket
        s = socket.socket(socket.AF_UNIX)
        s.connect(os.environ["NEFELE_SOCKET"])
        print("fd", s.fileno(), flush=True)
        while True:
            signal.pause()
        """;

    private readonly Socket socket;
    private readonly NetworkStream stream;
    private readonly SemaphoreSlim writeLock = new(1, 1);
    private readonly ConcurrentDictionary<ulong, TaskCompletionSource<ProcResponse>> answers = new();
    private readonly Task readLoop;
    private long nextId;
    private bool ended;

    private ApiPeer(SiloConnection silo, string npid, string tenant, int pid, Socket socket)
    {
        Silo = silo;
        Npid = npid;
        Tenant = tenant;
        Pid = pid;
        this.socket = socket;
        stream = new NetworkStream(socket, ownsSocket: true);
        readLoop = ReadLoopAsync();
    }

    public string Npid { get; }

    /// <summary>The silo connection the process is ended through (a test that reattaches sets the new one).</summary>
    public SiloConnection Silo { get; set; }

    public string Tenant { get; }

    public int Pid { get; }

    /// <summary>Responses that came with no request waiting for them (there should be none).</summary>
    public ConcurrentQueue<ProcResponse> Unexpected { get; } = new();

    /// <summary>A fresh NPID-shaped id (messaging tells NPIDs from names by their shape).</summary>
    public static string NewNpid() => Nefele.Processes.Npid.Encode((ulong)Random.Shared.NextInt64(1L << 40, long.MaxValue) & ~(0xFUL << 60));

    /// <summary>Launches a process of <paramref name="tenant"/> under <paramref name="npid"/> (fresh if null) and connects as it.</summary>
    public static async Task<ApiPeer> StartAsync(SiloConnection silo, string? npid = null, string tenant = "acme", uint uid = SiloConnection.TenantUid, Action<ProcessSpec>? configure = null)
    {
        npid ??= NewNpid();
        var spec = new ProcessSpec { Path = "/usr/bin/python3", Args = { "-c", Script } };
        configure?.Invoke(spec);
        var launched = await silo.LaunchAsync(new LaunchRequest { Npid = npid, Tenant = tenant, Spec = spec, Uid = uid, Gid = uid });
        Assert.True(launched.OutcomeCase == LaunchReply.OutcomeOneofCase.Started, $"expected started, got {launched}");
        var pid = launched.Started.Pid;

        long offset = 0;
        var text = "";
        var deadline = DateTime.UtcNow + SiloConnection.Timeout;
        while (!text.Contains('\n', StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, $"{npid} never said which descriptor it connected on; output: {text}");
            var chunk = await silo.LogsAsync(npid, offset, waitMs: 1000);
            text += chunk.Data.ToStringUtf8();
            offset = chunk.NextOffset;
        }

        var fd = int.Parse(text.Trim().Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        return new ApiPeer(silo, npid, tenant, pid, TakeSocket(pid, fd));
    }

    /// <summary>A duplicate of descriptor <paramref name="fd"/> of process <paramref name="pid"/> (pidfd_getfd; needs root).</summary>
    internal static Socket TakeSocket(int pid, int fd)
    {
        var pidfd = (int)syscall(SysPidfdOpen, pid, 0);
        Assert.True(pidfd >= 0, $"pidfd_open({pid}) failed: errno {Marshal.GetLastPInvokeError()}");
        var copy = (int)syscall(SysPidfdGetfd, pidfd, fd, 0);
        var errno = Marshal.GetLastPInvokeError();
        close(pidfd);
        Assert.True(copy >= 0, $"pidfd_getfd({pid}, {fd}) failed: errno {errno}");
        return new Socket(new SafeSocketHandle(copy, ownsHandle: true));
    }

    /// <summary>Sends one request and waits (bounded) for its answer.</summary>
    public async Task<ProcResponse> CallAsync(ProcRequest request, TimeSpan? within = null)
    {
        var answer = Begin(request);
        await WriteAsync(FrameCodec.Encode(request));
        return await answer.WaitAsync(within ?? SiloConnection.Timeout);
    }

    /// <summary>Registers <paramref name="request"/> for its answer (giving it an id) without sending it.</summary>
    public Task<ProcResponse> Begin(ProcRequest request)
    {
        request.Id = (ulong)Interlocked.Increment(ref nextId);
        var answer = new TaskCompletionSource<ProcResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        answers[request.Id] = answer;
        return answer.Task;
    }

    public async Task WriteAsync(byte[] bytes)
    {
        await writeLock.WaitAsync();
        try
        {
            await stream.WriteAsync(bytes);
        }
        finally
        {
            writeLock.Release();
        }
    }

    public Task<ProcResponse> SendAsync(string to, string data = "", string tag = "", DeliveryMode mode = DeliveryMode.Unspecified, bool ack = false, int waitMs = 0) =>
        CallAsync(new ProcRequest { Send = Message(to, data, tag, mode, ack, waitMs) });

    public static SendRequest Message(string to, string data = "", string tag = "", DeliveryMode mode = DeliveryMode.Unspecified, bool ack = false, int waitMs = 0) =>
        new() { To = to, Data = ByteString.CopyFromUtf8(data), Tag = tag, Mode = mode, Ack = ack, WaitMs = waitMs };

    public Task<ProcResponse> ReceiveAsync(int timeoutMs = 0, string tag = "") =>
        CallAsync(new ProcRequest { Receive = new ReceiveRequest { TimeoutMs = timeoutMs, Tag = tag } });

    /// <summary>Receives one message, failing the test on anything else.</summary>
    public async Task<Message> ReceiveMessageAsync(int timeoutMs = 5000, string tag = "")
    {
        var answer = await ReceiveAsync(timeoutMs, tag);
        Assert.True(answer.BodyCase == ProcResponse.BodyOneofCase.Receive, $"{Npid} expected a message, got {answer}");
        return answer.Receive.Message;
    }

    /// <summary>Sends and asserts the send was accepted; returns how many mailboxes it reached.</summary>
    public async Task<uint> SendOkAsync(string to, string data = "", string tag = "", DeliveryMode mode = DeliveryMode.Unspecified, bool ack = false, int waitMs = 0)
    {
        var answer = await SendAsync(to, data, tag, mode, ack, waitMs);
        Assert.True(answer.BodyCase == ProcResponse.BodyOneofCase.Send, $"{Npid} sending to {to}: expected sent, got {answer}");
        return answer.Send.Delivered;
    }

    /// <summary>Ends the process (SIGKILL) and waits until hostd reported its exit; the connection stays open.</summary>
    public async Task EndAsync()
    {
        if (ended)
        {
            return;
        }

        ended = true;
        await Silo.SignalAsync(Npid, 9);
        await Silo.NextExitAsync(Npid);
        await Silo.AckAsync(Npid);
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (await FrameCodec.ReadAsync(stream, ProcResponse.Parser, CancellationToken.None) is { } response)
            {
                if (answers.TryRemove(response.Id, out var answer))
                {
                    answer.TrySetResult(response);
                }
                else
                {
                    Unexpected.Enqueue(response);
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or ProtocolException)
        {
        }

        foreach (var answer in answers.Values)
        {
            answer.TrySetException(new IOException("hostd closed the api connection"));
        }
    }

    public async ValueTask DisposeAsync()
    {
        socket.Dispose();
        await readLoop;
        await EndAsync();
    }

    private const long SysPidfdOpen = 434;
    private const long SysPidfdGetfd = 438;

    [LibraryImport("libc", SetLastError = true)]
    private static partial long syscall(long number, int a, int b);

    [LibraryImport("libc", SetLastError = true)]
    private static partial long syscall(long number, int a, int b, int c);

    [LibraryImport("libc")]
    private static partial int close(int fd);
}
