using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Nefele.Client;
using Nefele.Errors;
using Nefele.HostAgent.Processes;
using Nefele.Protocol;
using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Control;

/// <summary>
/// One silo connection. Requests run concurrently (a launch waiting for its handshake must
/// not hold up a signal); all writes go through one queue drained by one writer, so frames
/// never interleave and events leave in the order the supervisor queued them.
/// A launch's reply is queued by the supervisor when it is decided, not by a request task
/// waiting for it.
/// </summary>
internal sealed class ControlSession : IControlConnection
{
    private readonly Socket socket;
    private readonly NetworkStream stream;
    private readonly ProcessSupervisor supervisor;
    private readonly NodeFactsProvider facts;
    private readonly Networking.TenantNetworks networks;
    private readonly Images.OverlayCommitter committer;
    private readonly ILogger logger;
    // The writer runs on the thread that queues an event when it is idle (a send on a unix socket
    // does not block; when the socket is full the write completes later, off this thread), so a
    // reply or an exit leaves without a thread-pool hop.
    private readonly Channel<ControlEvent> outgoing = Channel.CreateUnbounded<ControlEvent>(
        new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = true });
    private readonly CancellationTokenSource closed = new();

    public ControlSession(NetworkStream stream, ProcessSupervisor supervisor, NodeFactsProvider facts, Networking.TenantNetworks networks, Images.OverlayCommitter committer, ILogger logger)
    {
        this.committer = committer;
        this.networks = networks;
        socket = stream.Socket;
        this.stream = stream;
        this.supervisor = supervisor;
        this.facts = facts;
        this.logger = logger;
    }

    private int unwritten;

    public void Enqueue(ControlEvent ev)
    {
        Interlocked.Increment(ref unwritten);
        if (!outgoing.Writer.TryWrite(ev))
        {
            Interlocked.Decrement(ref unwritten);
        }
    }

    /// <summary>Serves the connection, starting with its (already read and checked) first request, until it closes; never throws.</summary>
    public async Task RunAsync(ControlRequest first)
    {
        var writer = WriteLoopAsync();
        var reader = new FrameReader(stream);
        _ = HandleAsync(first, lone: false);
        try
        {
            while (!closed.IsCancellationRequested)
            {
                var request = await reader.ReadAsync(ControlRequest.Parser, closed.Token);
                if (request is null)
                {
                    break;
                }

                if (request.Launch is not null)
                {
                    SpawnTrace.Mark("h.frame_in", $"{request.Launch.Npid} id{request.Id}");
                }

                // A lone request (nothing received behind it) is handled on this thread, a launch's
                // clone included; with more queued, a launch goes to the pool so they start side by side.
                _ = HandleAsync(request, lone: !reader.HasBuffered);
            }
        }
        catch (ProtocolException e)
        {
            logger.LogWarning("Bad frame from the silo, closing the connection: {Error}", e.Message);
            Enqueue(new ControlEvent { Error = new Error { Code = ErrorCodes.BadFrame, Message = e.Message } });
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }

        supervisor.Detach(this);
        outgoing.Writer.TryComplete();
        await Task.WhenAny(writer, Task.Delay(TimeSpan.FromSeconds(2)));
        await CloseAsync();
    }

    /// <summary>The silo closed its end (it exited or reconnected); this session is over even if hostd has not read the end yet.</summary>
    public bool PeerClosed()
    {
        try
        {
            // Readable with nothing to read is the end of the stream; a disposed socket is over too.
            return closed.IsCancellationRequested || (socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0);
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException)
        {
            return true;
        }
    }

    /// <summary>Closes the connection (hostd is stopping, or the silo has gone).</summary>
    public async Task CloseAsync()
    {
        await closed.CancelAsync();
        socket.Dispose();
    }

    /// <summary>Waits until queued events are written (bounded), e.g. exits reported at shutdown.</summary>
    public async Task FlushAsync(TimeSpan within)
    {
        var deadline = Environment.TickCount64 + (long)within.TotalMilliseconds;
        while (Volatile.Read(ref unwritten) > 0 && Environment.TickCount64 < deadline && !closed.IsCancellationRequested)
        {
            await Task.Delay(20);
        }
    }

    private async Task WriteLoopAsync()
    {
        try
        {
            await foreach (var ev in outgoing.Reader.ReadAllAsync(closed.Token))
            {
                await FrameCodec.WriteAsync(stream, ev, closed.Token);
                if (ev.Launched is not null)
                {
                    SpawnTrace.Mark("h.launched_out", $"id{ev.Id}");
                }
                else if (ev.Exited is not null)
                {
                    SpawnTrace.Mark("h.exit_out", ev.Exited.Npid);
                }
                Interlocked.Decrement(ref unwritten);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            await closed.CancelAsync();
        }
    }

    private async Task HandleAsync(ControlRequest request, bool lone)
    {
        var id = request.Id;
        try
        {
            switch (request.BodyCase)
            {
                case ControlRequest.BodyOneofCase.Attach:
                    if (request.Attach.Node.Length > 0 && request.Attach.Node != supervisor.Node)
                    {
                        Enqueue(Error(id, ErrorCodes.WrongNode, $"this hostd serves node {supervisor.Node}, not {request.Attach.Node}"));
                        break;
                    }

                    supervisor.Attach(this, id, facts.Get());
                    break;

                case ControlRequest.BodyOneofCase.Launch:
                    supervisor.Launch(request.Launch, this, id, startHere: lone, TraceContext.Parent(request.Traceparent, request.Tracestate));
                    break;

                case ControlRequest.BodyOneofCase.Signal:
                    var error = await supervisor.SignalAsync(request.Signal.Npid, request.Signal.Signal, closed.Token, TraceContext.Parent(request.Traceparent, request.Tracestate));
                    Enqueue(error is null ? new ControlEvent { Id = id, Ok = new Ok() } : new ControlEvent { Id = id, Error = error });
                    break;

                case ControlRequest.BodyOneofCase.Logs:
                    var logs = await supervisor.ReadLogsAsync(request.Logs, closed.Token);
                    Enqueue(logs is null
                        ? Error(id, ErrorCodes.NpidNotFound, $"no process {request.Logs.Npid} on node {supervisor.Node}")
                        : new ControlEvent { Id = id, Logs = logs });
                    break;

                case ControlRequest.BodyOneofCase.AckExit:
                    supervisor.AckExit(request.AckExit.Npid);
                    Enqueue(new ControlEvent { Id = id, Ok = new Ok() });
                    break;

                case ControlRequest.BodyOneofCase.Usage:
                    Enqueue(new ControlEvent { Id = id, Usage = facts.WithLoad(supervisor.Usage()) });
                    break;

                case ControlRequest.BodyOneofCase.ProcReply:
                    supervisor.CompleteProcCall(request.ProcReply);
                    break;

                // Deliveries are put in mailboxes on the reading thread, so they keep the order the silo sent them in.
                case ControlRequest.BodyOneofCase.Deliver:
                    if (request.Traceparent.Length > 0)
                    {
                        DeliverTraced(request, id);
                    }
                    else
                    {
                        supervisor.Post.Deliver(request.Deliver, id, this);
                    }

                    break;

                case ControlRequest.BodyOneofCase.Names:
                    var refused = supervisor.Post.UpdateNames(request.Names);
                    Enqueue(refused is null ? new ControlEvent { Id = id, Ok = new Ok() } : Error(id, ErrorCodes.BadRequest, refused));
                    break;

                case ControlRequest.BodyOneofCase.MessageOutReply:
                    supervisor.Post.CompleteOut(request.MessageOutReply);
                    break;

                case ControlRequest.BodyOneofCase.Peers:
                    var peersRefused = await networks.UpdatePeersAsync(request.Peers, closed.Token);
                    Enqueue(peersRefused is null ? new ControlEvent { Id = id, Ok = new Ok() } : Error(id, ErrorCodes.BadRequest, peersRefused));
                    break;

                case ControlRequest.BodyOneofCase.MailboxStats:
                    Enqueue(new ControlEvent { Id = id, MailboxStats = supervisor.Post.Stats() });
                    break;

                case ControlRequest.BodyOneofCase.Commit:
                    var (committed, commitError) = await committer.CommitAsync(request.Commit, closed.Token);
                    Enqueue(committed is null ? new ControlEvent { Id = id, Error = commitError } : new ControlEvent { Id = id, Committed = committed });
                    break;

                case ControlRequest.BodyOneofCase.Terminal:
                    var refusal = await supervisor.TerminalInputAsync(request.Terminal, closed.Token);
                    Enqueue(refusal is null ? new ControlEvent { Id = id, Ok = new Ok() } : new ControlEvent { Id = id, Error = refusal });
                    break;

                default:
                    Enqueue(Error(id, ErrorCodes.BadRequest, "the request has no body hostd understands"));
                    break;
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e)
        {
            logger.LogError(e, "Control request {Id} ({Kind}) failed", id, request.BodyCase);
            Enqueue(Error(id, ErrorCodes.InternalError, e.Message));
        }
    }

    /// <summary>A delivery under a span that continues the sender's trace (the silo's routing span).</summary>
    private void DeliverTraced(ControlRequest request, ulong id)
    {
        using var span = HostAgentTelemetry.ActivitySource.StartActivity(
            "nefele.hostd.deliver", System.Diagnostics.ActivityKind.Consumer, TraceContext.Parent(request.Traceparent, request.Tracestate));
        span?.SetTag(Tracing.SpanAttributes.Tenant, request.Deliver.Tenant);
        span?.SetTag(Tracing.SpanAttributes.Node, supervisor.Node);
        supervisor.Post.Deliver(request.Deliver, id, this);
    }

    private static ControlEvent Error(ulong id, string code, string message) =>
        new() { Id = id, Error = new Error { Code = code, Message = message } };
}
