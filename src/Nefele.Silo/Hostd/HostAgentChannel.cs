using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using Google.Protobuf;
using Microsoft.Extensions.Options;
using Nefele.Client;
using Nefele.Errors;
using Nefele.Nodes;
using Nefele.Placement;
using Nefele.Processes;
using Nefele.Protocol;
using Nefele.Protocol.V1;
using Nefele.Tracing;
using ProcessSpec = Nefele.Client.ProcessSpec;
using ProcessEnd = Nefele.Client.ProcessEnd;
using ProcessState = Nefele.Client.ProcessState;

namespace Nefele.Silo.Hostd;

/// <summary>
/// The silo's end of the node channel: connects to hostd's control socket, attaches, and keeps
/// reconnecting for as long as the silo runs. On every attach it reconciles — processes hostd
/// still runs are adopted and exits it kept while no silo listened are delivered — so neither
/// side loses anything when the other restarts.
/// </summary>
internal sealed class HostAgentChannel(
    IOptions<NodeOptions> options,
    IGrainFactory grains,
    ProcCallHandler procCalls,
    Messaging.MessageRouter router,
    ILogger<HostAgentChannel> logger) : BackgroundService, IHostAgentChannel
{
    private static readonly TimeSpan ReconnectDelay = TimeSpan.FromMilliseconds(200);
    private readonly ConcurrentDictionary<ulong, TaskCompletionSource<ControlEvent>> _pending = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private TaskCompletionSource _attached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Stream? _stream;
    private long _nextId;

    public string Node => options.Value.Name;

    public NodeFacts? Facts { get; private set; }

    /// <summary>Raised each time hostd has attached (after reconciling), on the channel's thread: handlers must not block.</summary>
    public event Action? Attached;

    /// <summary>Completes when hostd has attached (for start-up ordering and tests).</summary>
    public Task WhenAttached => _attached.Task;

    public async Task<LaunchReply> LaunchAsync(string npid, string tenant, ProcessSpec spec, Tenants.RunAs runAs, CancellationToken ct)
    {
        var launch = new LaunchRequest
        {
            Npid = npid,
            Tenant = tenant,
            Spec = ProtoMapping.ToProto(spec),
            Uid = runAs.Uid,
            Gid = runAs.Gid,
            Privileged = runAs.Privileged,
        };
        // The names were checked at admission (SpecValidator.RlimitNames); they are the enum's own.
        foreach (var (name, value) in spec.Rlimits)
        {
            var resource = Enum.Parse<RlimitResource>(name, ignoreCase: true);
            launch.Rlimits.Add(new ResourceLimit { Resource = resource, Soft = (ulong)value, Hard = (ulong)value });
        }

        SpawnTrace.Mark("s.launch_call", npid);
        var reply = await CallAsync(new ControlRequest { Launch = launch }, ct);
        SpawnTrace.Mark("s.launch_ret", npid);
        return reply.Launched ?? throw Unexpected(reply);
    }

    public async Task SignalAsync(string npid, int signal, CancellationToken ct)
    {
        var reply = await CallAsync(new ControlRequest { Signal = new SignalRequest { Npid = npid, Signal = signal } }, ct);
        if (reply.BodyCase != ControlEvent.BodyOneofCase.Ok)
        {
            throw Unexpected(reply);
        }
    }

    public async Task TerminalInputAsync(string npid, ReadOnlyMemory<byte> data, int rows, int columns, CancellationToken ct)
    {
        var input = new TerminalInput { Npid = npid, Data = Google.Protobuf.ByteString.CopyFrom(data.Span), Rows = (uint)rows, Cols = (uint)columns };
        var reply = await CallAsync(new ControlRequest { Terminal = input }, ct);
        if (reply.BodyCase != ControlEvent.BodyOneofCase.Ok)
        {
            throw Unexpected(reply);
        }
    }

    public async Task<LogsReadReply> ReadLogsAsync(LogsReadRequest request, CancellationToken ct)
    {
        var reply = await CallAsync(new ControlRequest { Logs = request }, ct);
        return reply.Logs ?? throw Unexpected(reply);
    }

    public async Task<UsageReply> GetUsageAsync(CancellationToken ct)
    {
        var reply = await CallAsync(new ControlRequest { Usage = new UsageRequest() }, ct);
        return reply.Usage ?? throw Unexpected(reply);
    }

    public async Task<IReadOnlyList<(DeliverReply? Reply, Protocol.V1.Error? Error)>> DeliverAsync(IReadOnlyList<DeliverRequest> batch, CancellationToken ct)
    {
        var requests = batch.Select(d => new ControlRequest { Deliver = d }).ToArray();
        var replies = await CallBatchAsync(requests, ct);
        return replies.Select(r => r.Delivered is { } d
            ? (d, (Protocol.V1.Error?)null)
            : ((DeliverReply?)null, r.Error ?? new Protocol.V1.Error { Code = ErrorCodes.InternalError, Message = $"hostd answered a delivery with {r.BodyCase}" })).ToArray();
    }

    public async Task<MailboxStatsReply> GetMailboxStatsAsync(CancellationToken ct)
    {
        var reply = await CallAsync(new ControlRequest { MailboxStats = new MailboxStatsRequest() }, ct);
        return reply.MailboxStats ?? throw Unexpected(reply);
    }

    public async Task<CommitReply> CommitAsync(string tenant, string image, string upload, CancellationToken ct)
    {
        var reply = await CallAsync(new ControlRequest { Commit = new CommitRequest { Tenant = tenant, Image = image, Upload = upload } }, ct);
        return reply.Committed ?? throw Unexpected(reply);
    }

    public async Task PushNamesAsync(NameTableUpdate update, CancellationToken ct)
    {
        var reply = await CallAsync(new ControlRequest { Names = update }, ct);
        if (reply.BodyCase != ControlEvent.BodyOneofCase.Ok)
        {
            throw Unexpected(reply);
        }
    }

    /// <summary>Replaces hostd's list of the cluster's nodes (its tenant networks tunnel to them).</summary>
    public async Task PushPeersAsync(ClusterPeersUpdate update, CancellationToken ct)
    {
        var reply = await CallAsync(new ControlRequest { Peers = update }, ct);
        if (reply.BodyCase != ControlEvent.BodyOneofCase.Ok)
        {
            throw Unexpected(reply);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var path = options.Value.ControlSocketPath;
        var warned = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), stoppingToken);
            }
            catch (SocketException e)
            {
                if (!warned)
                {
                    logger.LogWarning("hostd is not reachable at {Path} ({Error}); retrying until it is", path, e.SocketErrorCode);
                    warned = true;
                }

                await Task.Delay(ReconnectDelay, stoppingToken);
                continue;
            }

            warned = false;
            await using var stream = new NetworkStream(socket, ownsSocket: false);
            try
            {
                await RunConnectionAsync(stream, ReadSecret(), stoppingToken);
            }
            catch (Exception e) when (e is IOException or ProtocolException or SocketException or ObjectDisposedException or UnauthorizedAccessException)
            {
                logger.LogWarning("Lost hostd at {Path}: {Error}", path, e.Message);

                // Refused (e.g. hostd still holds a predecessor's connection) or cut: try again shortly, not in a tight loop.
                await Task.Delay(ReconnectDelay, stoppingToken);
            }
            finally
            {
                _stream = null;
                Facts = null;
                if (_attached.Task.IsCompleted)
                {
                    _attached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                foreach (var (id, waiter) in _pending)
                {
                    if (_pending.TryRemove(id, out _))
                    {
                        waiter.TrySetException(new NefeleException(ErrorCodes.NodeUnavailable, $"hostd on node {Node} went away"));
                    }
                }
            }
        }
    }

    /// <summary>The node's control secret, read at each attach (hostd makes the file before it listens).</summary>
    /// <exception cref="IOException">The file cannot be read (the message names it).</exception>
    private ByteString ReadSecret()
    {
        var path = options.Value.SecretFilePath;
        try
        {
            return ByteString.CopyFromUtf8(File.ReadAllText(path).Trim());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot read the control secret {path} (--hostd-secret-file): {e.Message}", e);
        }
    }

    private async Task RunConnectionAsync(Stream stream, ByteString secret, CancellationToken ct)
    {
        _stream = stream;
        var attachId = (ulong)Interlocked.Increment(ref _nextId);
        var attachReply = new TaskCompletionSource<ControlEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[attachId] = attachReply;
        await WriteAsync(new ControlRequest { Id = attachId, Attach = new AttachRequest { Node = Node, Secret = secret } }, ct);

        var reader = Task.Run(() => ReadLoopAsync(stream, ct), ct);
        if (await Task.WhenAny(attachReply.Task, reader).WaitAsync(ct) == reader)
        {
            // hostd closed the connection without answering: the reader's failure says how.
            await reader;
            throw new IOException("hostd closed the channel before answering the attach");
        }

        var attached = await attachReply.Task;

        if (attached.Attached is null)
        {
            throw new ProtocolException(attached.Error is { } refusal
                ? $"hostd refused the attach: {refusal.Code}: {refusal.Message}"
                : $"hostd answered attach with {attached.BodyCase}");
        }

        var orphans = new List<string>();
        await ReconcileAsync(attached.Attached, orphans);
        Facts = attached.Attached.Facts;
        _attached.TrySetResult();
        foreach (var npid in orphans)
        {
            await SignalAsync(npid, Signals.SigKill, ct);
        }

        // Names: a restarted hostd has no tables; one that kept running gets them again, harmlessly.
        _ = RepushNamesAsync(attached.Attached.Processes.Select(p => p.Tenant).ToArray());
        Attached?.Invoke();
        logger.LogInformation("hostd attached on node {Node}: {Cpus} cpus, {Memory} bytes, engine {Engine}, {Count} processes",
            Node, Facts.Cpus, Facts.MemoryBytes, Facts.Engine, attached.Attached.Processes.Count);
        await reader;
    }

    private async Task ReadLoopAsync(Stream stream, CancellationToken ct)
    {
        var reader = FrameCodec.Reader(stream);
        while (true)
        {
            var e = await FrameCodec.ReadAsync(reader, ControlEvent.Parser, ct) ?? throw new IOException("hostd closed the channel");
            if (e.Id != 0)
            {
                if (e.Launched is not null)
                {
                    SpawnTrace.Mark("s.reply_in", $"id{e.Id}");
                }

                if (_pending.TryRemove(e.Id, out var waiter))
                {
                    waiter.TrySetResult(e);
                }

                continue;
            }

            switch (e.BodyCase)
            {
                case ControlEvent.BodyOneofCase.Exited:
                    SpawnTrace.Mark("s.exit_in", e.Exited.Npid);
                    _ = DeliverExitAsync(e.Exited, TraceContext.Parent(e.Traceparent, e.Tracestate));
                    break;
                case ControlEvent.BodyOneofCase.ProcCall:
                    _ = AnswerProcCallAsync(e.ProcCall, ct);
                    break;
                case ControlEvent.BodyOneofCase.MessageOut:
                    // Routed here, in read order: the router places it on its lanes before returning.
                    RouteOut(e.MessageOut, TraceContext.Parent(e.Traceparent, e.Tracestate), ct);
                    break;
                case ControlEvent.BodyOneofCase.Error:
                    logger.LogWarning("hostd: {Code}: {Message}", e.Error.Code, e.Error.Message);
                    break;
                default:
                    logger.LogWarning("Ignoring unsolicited {Kind} from hostd", e.BodyCase);
                    break;
            }
        }
    }

    private async Task ReconcileAsync(AttachReply attached, List<string> orphans)
    {
        var node = grains.GetGrain<INodeGrain>(Node);
        foreach (var p in attached.Processes.Where(p => p.Running))
        {
            var spec = ProtoMapping.FromProto(p.Spec);
            if (await grains.GetGrain<IProcessGrain>(p.Npid).AdoptAsync(p.Tenant, Node, spec, p.Pid, DateTimeOffset.FromUnixTimeMilliseconds(p.StartedUnixMs)))
            {
                await node.TrackAsync(p.Npid, ResourceAsk.Of(spec));
            }
            else
            {
                // Declared Lost while this node was cut off: its monitors were told, so it goes.
                logger.LogWarning("Killing {Npid} (pid {Pid}): it was declared lost while node {Node} was away", p.Npid, p.Pid, Node);
                orphans.Add(p.Npid);
            }
        }

        // Running here as far as the control plane knew, but unknown to this hostd: a hostd that
        // restarted stopped what its predecessor left (it could not own them), so they are Lost.
        var reported = attached.Processes.Select(p => p.Npid).Concat(attached.PendingExits.Select(e => e.Npid)).ToHashSet(StringComparer.Ordinal);
        foreach (var npid in await node.ForgetUnreportedAsync(reported))
        {
            logger.LogWarning("{Npid} was running on node {Node} but its hostd no longer knows it: Lost", npid, Node);
            await grains.GetGrain<IProcessGrain>(npid).MarkLostAsync($"hostd on node {Node} restarted and no longer runs it");
        }

        foreach (var exit in attached.PendingExits)
        {
            // The record may be gone with a restarted silo's volatile storage: rebuild it
            // as the Running process it was, then end it, so its monitors learn how it ended.
            if (exit.Spec is not null)
            {
                var spec = ProtoMapping.FromProto(exit.Spec);
                await grains.GetGrain<IProcessGrain>(exit.Npid).AdoptAsync(exit.Tenant, Node, spec, exit.Pid, DateTimeOffset.FromUnixTimeMilliseconds(exit.StartedUnixMs));
            }

            _ = DeliverExitAsync(exit, default);
        }
    }

    private async Task RepushNamesAsync(IReadOnlyCollection<string> tenants)
    {
        try
        {
            await grains.GetGrain<INodeGrain>(Node).RepushNamesAsync(tenants);
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Could not hand the name tables to hostd on node {Node} again", Node);
        }
    }

    private async Task DeliverExitAsync(ProcessExited exit, ActivityContext traced)
    {
        // The exit's monitors are told under hostd's exit span (a trace of its own, linked to the spawn's).
        using var activity = traced == default ? null : Nefele.Telemetry.Source.StartActivity("nefele.process.exit", ActivityKind.Consumer, traced);
        activity?.SetTag(SpanAttributes.Npid, exit.Npid);
        activity?.SetTag(SpanAttributes.Tenant, exit.Tenant);
        activity?.SetTag(SpanAttributes.Node, Node);
        try
        {
            await grains.GetGrain<IProcessGrain>(exit.Npid).OnExitedAsync(ProtoMapping.FromProto(exit.End));
            SpawnTrace.Mark("s.exit_done", exit.Npid);
            await CallAsync(new ControlRequest { AckExit = new AckExitRequest { Npid = exit.Npid } }, CancellationToken.None);
        }
        catch (Exception e)
        {
            // Not acknowledged: hostd keeps the exit and replays it on the next attach.
            activity?.SetStatus(ActivityStatusCode.Error, e.Message);
            logger.LogWarning(e, "Could not deliver the exit of {Npid}", exit.Npid);
        }
    }

    private async Task AnswerProcCallAsync(ProcCall call, CancellationToken ct)
    {
        var response = await procCalls.HandleAsync(call);
        try
        {
            await WriteAsync(new ControlRequest { ProcReply = new ProcCallReply { CallId = call.CallId, Response = response } }, ct);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
        {
            logger.LogDebug("Could not answer call {Call}: {Error}", call.CallId, e.Message);
        }
    }

    private void RouteOut(MessageOut m, ActivityContext traced, CancellationToken ct)
    {
        // Routing (and the deliveries it makes, which carry its context down to the target's hostd)
        // continues the trace of hostd's span for the send.
        using var activity = traced == default ? null : Nefele.Telemetry.Source.StartActivity("nefele.message.route", ActivityKind.Consumer, traced);
        activity?.SetTag(SpanAttributes.Tenant, m.Tenant);
        activity?.SetTag(SpanAttributes.Node, Node);
        Task<int> routed;
        try
        {
            routed = router.RouteAsync(new Messaging.RouteRequest
            {
                Tenant = m.Tenant,
                SourceNode = Node,
                Targets = m.Targets.Count == 0 && m.Mode is Protocol.V1.DeliveryMode.Broadcast or Protocol.V1.DeliveryMode.Publish ? null : m.Targets,
                From = m.Message?.From ?? string.Empty,
                To = m.Message?.To ?? string.Empty,
                Tag = m.Message?.Tag ?? string.Empty,
                Data = m.Message?.Data.Memory ?? ReadOnlyMemory<byte>.Empty,
                SentUnixMs = m.Message?.SentUnixMs ?? 0,
                Mode = (Nefele.Client.DeliveryMode)m.Mode,
                Ack = m.Ack,
                WaitMs = Math.Clamp(m.WaitMs, 0, (int)Nefele.Validation.Limits.MaxMessagingWait.TotalMilliseconds),
            });
        }
        catch (Exception e)
        {
            routed = Task.FromException<int>(e);
        }

        if (m.CallId != 0)
        {
            _ = AnswerMessageOutAsync(m.CallId, routed, ct);
        }
        else if (!routed.IsCompleted)
        {
            // Fire and forget: a failure is counted by the router; only an unexpected one is logged.
            _ = routed.ContinueWith(
                t => logger.LogDebug("An unacknowledged send from node {Node} was not routed: {Error}", Node, t.Exception?.GetBaseException().Message),
                CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
    }

    private async Task AnswerMessageOutAsync(ulong callId, Task<int> routed, CancellationToken ct)
    {
        var reply = new MessageOutReply { CallId = callId };
        try
        {
            reply.Delivered = (uint)await routed;
        }
        catch (NefeleException e)
        {
            reply.Error = new Protocol.V1.Error { Code = e.Code, Message = e.Message };
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Routing call {Call} from node {Node} failed", callId, Node);
            reply.Error = new Protocol.V1.Error { Code = ErrorCodes.InternalError, Message = e.Message };
        }

        try
        {
            await WriteAsync(new ControlRequest { MessageOutReply = reply }, ct);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
        {
            logger.LogDebug("Could not answer routing call {Call}: {Error}", callId, e.Message);
        }
    }

    /// <summary>Several requests written back to back under one hold of the write lock (so in this order), then their replies.</summary>
    private async Task<ControlEvent[]> CallBatchAsync(ControlRequest[] requests, CancellationToken ct)
    {
        if (_stream is null || Facts is null)
        {
            throw new NefeleException(ErrorCodes.NodeUnavailable, $"hostd on node {Node} is not attached");
        }

        var waiters = new TaskCompletionSource<ControlEvent>[requests.Length];
        var frames = new byte[requests.Length][];
        for (var i = 0; i < requests.Length; i++)
        {
            requests[i].Id = (ulong)Interlocked.Increment(ref _nextId);
            TraceContext.Stamp(requests[i]);
            waiters[i] = new TaskCompletionSource<ControlEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
            _pending[requests[i].Id] = waiters[i];
            frames[i] = FrameCodec.Encode(requests[i]);
        }

        try
        {
            await _writeLock.WaitAsync(ct);
            try
            {
                var stream = _stream ?? throw new IOException("not connected");
                foreach (var frame in frames)
                {
                    await stream.WriteAsync(frame, ct);
                }
            }
            finally
            {
                _writeLock.Release();
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or NullReferenceException)
        {
            foreach (var r in requests)
            {
                _pending.TryRemove(r.Id, out _);
            }

            throw new NefeleException(ErrorCodes.NodeUnavailable, $"hostd on node {Node} went away");
        }

        var replies = new ControlEvent[requests.Length];
        for (var i = 0; i < requests.Length; i++)
        {
            replies[i] = await waiters[i].Task.WaitAsync(ct);
        }

        return replies;
    }

    private async Task<ControlEvent> CallAsync(ControlRequest request, CancellationToken ct)
    {
        if (_stream is null || Facts is null && request.BodyCase != ControlRequest.BodyOneofCase.AckExit)
        {
            throw new NefeleException(ErrorCodes.NodeUnavailable, $"hostd on node {Node} is not attached");
        }

        request.Id = (ulong)Interlocked.Increment(ref _nextId);
        TraceContext.Stamp(request);
        // Completed by the read loop, which then runs this call's continuation itself: a grain's
        // turn is queued on its activation from there (no extra thread-pool hop before it), and
        // the few callers outside a grain only return. Nothing after the await blocks.
        var waiter = new TaskCompletionSource<ControlEvent>();
        _pending[request.Id] = waiter;
        try
        {
            await WriteAsync(request, ct);
            if (request.Launch is not null)
            {
                SpawnTrace.Mark("s.written", $"{request.Launch.Npid} id{request.Id}");
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or NullReferenceException)
        {
            _pending.TryRemove(request.Id, out _);
            throw new NefeleException(ErrorCodes.NodeUnavailable, $"hostd on node {Node} went away");
        }

        var reply = await waiter.Task.WaitAsync(ct);
        if (reply.Error is { } error)
        {
            throw new NefeleException(string.IsNullOrEmpty(error.Code) ? ErrorCodes.BadRequest : error.Code, error.Message);
        }

        return reply;
    }

    private async Task WriteAsync(IMessage message, CancellationToken ct)
    {
        var frame = FrameCodec.Encode(message);
        await _writeLock.WaitAsync(ct);
        try
        {
            var stream = _stream ?? throw new IOException("not connected");
            await stream.WriteAsync(frame, ct);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private static NefeleException Unexpected(ControlEvent reply) =>
        new(ErrorCodes.NodeUnavailable, $"hostd answered with {reply.BodyCase}");

    public override void Dispose()
    {
        _writeLock.Dispose();
        base.Dispose();
    }
}
