using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Threading.Channels;
using Nefele.Protocol;
using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Tests;

/// <summary>Talks to hostd's control socket the way the silo does.</summary>
internal sealed class SiloConnection : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly Socket socket;
    private readonly NetworkStream stream;
    private readonly ConcurrentDictionary<ulong, TaskCompletionSource<ControlEvent>> replies = new();
    private readonly SemaphoreSlim writeLock = new(1, 1);
    private readonly Task readLoop;
    private ulong nextId;

    private SiloConnection(Socket socket, string path)
    {
        this.socket = socket;
        SecretFile = Path.Combine(Path.GetDirectoryName(path)!, "control.secret");
        stream = new NetworkStream(socket, ownsSocket: true);
        readLoop = ReadLoopAsync();
    }

    /// <summary>Unsolicited events (exited, proc_call) in arrival order.</summary>
    public Channel<ControlEvent> Events { get; } = Channel.CreateUnbounded<ControlEvent>();

    /// <summary>Every event received, replies included, in arrival order (for ordering checks).</summary>
    public ConcurrentQueue<ControlEvent> All { get; } = new();

    public TaskCompletionSource Closed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static async Task<SiloConnection> ConnectAsync(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
        return new SiloConnection(socket, path);
    }

    public async Task<ControlEvent> RequestAsync(ControlRequest request)
    {
        request.Id = Interlocked.Increment(ref nextId);
        var reply = new TaskCompletionSource<ControlEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        replies[request.Id] = reply;
        await SendAsync(request);
        return await reply.Task.WaitAsync(Timeout);
    }

    /// <summary>Sends <paramref name="requests"/> in one write (so hostd receives them together) and awaits each answer.</summary>
    public async Task<ControlEvent[]> RequestTogetherAsync(IReadOnlyList<ControlRequest> requests)
    {
        var waiters = new List<Task<ControlEvent>>();
        var bytes = new List<byte>();
        foreach (var request in requests)
        {
            request.Id = Interlocked.Increment(ref nextId);
            var reply = new TaskCompletionSource<ControlEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
            replies[request.Id] = reply;
            waiters.Add(reply.Task.WaitAsync(Timeout));
            bytes.AddRange(FrameCodec.Encode(request));
        }

        await writeLock.WaitAsync();
        try
        {
            await stream.WriteAsync(bytes.ToArray());
        }
        finally
        {
            writeLock.Release();
        }

        return await Task.WhenAll(waiters);
    }

    public async Task SendAsync(ControlRequest request)
    {
        await writeLock.WaitAsync();
        try
        {
            await FrameCodec.WriteAsync(stream, request, CancellationToken.None);
        }
        finally
        {
            writeLock.Release();
        }
    }

    public async Task SendRawAsync(byte[] bytes)
    {
        await stream.WriteAsync(bytes);
    }

    /// <summary>Where hostd keeps the node's control secret by default (beside the socket).</summary>
    public string SecretFile { get; }

    /// <summary>Attaches with the node's control secret, as the silo does.</summary>
    public async Task<AttachReply> AttachAsync(string node)
    {
        var ev = await TryAttachAsync(node, Google.Protobuf.ByteString.CopyFromUtf8((await File.ReadAllTextAsync(SecretFile)).Trim()));
        Assert.True(ev.BodyCase == ControlEvent.BodyOneofCase.Attached, $"expected attached, got {ev}");
        return ev.Attached;
    }

    /// <summary>Sends an attach with <paramref name="secret"/> and returns whatever hostd answers.</summary>
    public Task<ControlEvent> TryAttachAsync(string node, Google.Protobuf.ByteString secret) =>
        RequestAsync(new ControlRequest { Attach = new AttachRequest { Node = node, Secret = secret } });

    /// <summary>The unprivileged uid and gid test processes run as unless a test says otherwise.</summary>
    public const uint TenantUid = 200777;

    public Task<LaunchReply> LaunchAsync(string npid, ProcessSpec spec, string tenant = "acme") =>
        LaunchAsync(new LaunchRequest { Npid = npid, Tenant = tenant, Spec = spec, Uid = TenantUid, Gid = TenantUid });

    public async Task<LaunchReply> LaunchAsync(LaunchRequest launch)
    {
        var ev = await RequestAsync(new ControlRequest { Launch = launch });
        Assert.Equal(ControlEvent.BodyOneofCase.Launched, ev.BodyCase);
        return ev.Launched;
    }

    public async Task<Started> LaunchStartedAsync(string npid, ProcessSpec spec)
    {
        var reply = await LaunchAsync(npid, spec);
        Assert.True(reply.OutcomeCase == LaunchReply.OutcomeOneofCase.Started, $"expected started, got {reply}");
        return reply.Started;
    }

    public Task<ControlEvent> SignalAsync(string npid, int signal) =>
        RequestAsync(new ControlRequest { Signal = new SignalRequest { Npid = npid, Signal = signal } });

    public Task<ControlEvent> AckAsync(string npid) =>
        RequestAsync(new ControlRequest { AckExit = new AckExitRequest { Npid = npid } });

    public async Task<LogsReadReply> LogsAsync(string npid, long offset = 0, int waitMs = 0, LogStream stream = LogStream.Unspecified, bool records = false)
    {
        var ev = await RequestAsync(new ControlRequest { Logs = new LogsReadRequest { Npid = npid, Offset = offset, MaxBytes = 65536, WaitMs = waitMs, Stream = stream, Records = records } });
        Assert.True(ev.BodyCase == ControlEvent.BodyOneofCase.Logs, $"expected logs, got {ev}");
        return ev.Logs;
    }

    /// <summary>Everything the process wrote (on <paramref name="stream"/>, or both), once it has ended.</summary>
    public async Task<string> AllLogsAsync(string npid, LogStream stream = LogStream.Unspecified)
    {
        var text = new System.Text.StringBuilder();
        foreach (var record in await AllLogRecordsAsync(npid, stream))
        {
            text.Append(record.Data.ToStringUtf8());
        }

        return text.ToString();
    }

    /// <summary>Every record the process wrote (on <paramref name="stream"/>, or both), once it has ended.</summary>
    public async Task<List<LogRecord>> AllLogRecordsAsync(string npid, LogStream stream = LogStream.Unspecified)
    {
        var records = new List<LogRecord>();
        long offset = 0;
        var deadline = DateTime.UtcNow + Timeout;
        while (DateTime.UtcNow < deadline)
        {
            var chunk = await LogsAsync(npid, offset, waitMs: 1000, stream, records: true);
            records.AddRange(chunk.Records);
            offset = chunk.NextOffset;
            if (chunk.Complete)
            {
                return records;
            }
        }

        throw new TimeoutException($"logs of {npid} never completed; got {records.Count} records");
    }

    /// <summary>The next unsolicited event, failing after a bounded wait.</summary>
    public async Task<ControlEvent> NextEventAsync(TimeSpan? within = null)
    {
        using var cts = new CancellationTokenSource(within ?? Timeout);
        try
        {
            return await Events.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException("no event from hostd within the time limit");
        }
    }

    public async Task<ProcessExited> NextExitAsync(string npid) =>
        (await NextMatchingAsync(ev => ev.BodyCase == ControlEvent.BodyOneofCase.Exited && ev.Exited.Npid == npid)).Exited;

    /// <summary>The next MessageOut hostd sent up (other events stay for their own waiters).</summary>
    public async Task<MessageOut> NextMessageOutAsync(TimeSpan? within = null) =>
        (await NextMatchingAsync(ev => ev.BodyCase == ControlEvent.BodyOneofCase.MessageOut, within)).MessageOut;

    /// <summary>The next unsolicited event <paramref name="match"/> takes; the ones it passes over are kept, in order, for later calls.</summary>
    public async Task<ControlEvent> NextMatchingAsync(Func<ControlEvent, bool> match, TimeSpan? within = null)
    {
        lock (passedOver)
        {
            var i = passedOver.FindIndex(ev => match(ev));
            if (i >= 0)
            {
                var found = passedOver[i];
                passedOver.RemoveAt(i);
                return found;
            }
        }

        var deadline = DateTime.UtcNow + (within ?? Timeout);
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            var ev = await NextEventAsync(left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1));
            if (match(ev))
            {
                return ev;
            }

            lock (passedOver)
            {
                passedOver.Add(ev);
            }
        }
    }

    /// <summary>Unsolicited events passed over by <see cref="NextMatchingAsync"/>, none of them matched yet.</summary>
    public List<ControlEvent> PassedOver()
    {
        lock (passedOver)
        {
            return [.. passedOver];
        }
    }

    private readonly List<ControlEvent> passedOver = [];

    private async Task ReadLoopAsync()
    {
        try
        {
            while (true)
            {
                var ev = await FrameCodec.ReadAsync(stream, ControlEvent.Parser, CancellationToken.None);
                if (ev is null)
                {
                    break;
                }

                All.Enqueue(ev);
                if (ev.Id != 0 && replies.TryRemove(ev.Id, out var reply))
                {
                    reply.TrySetResult(ev);
                }
                else
                {
                    Events.Writer.TryWrite(ev);
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or ProtocolException)
        {
        }

        Closed.TrySetResult();
    }

    public async ValueTask DisposeAsync()
    {
        socket.Dispose();
        await readLoop;
    }
}
