using Nefele.Client;
using Nefele.HostAgent.Control;
using Nefele.HostAgent.Processes;
using Nefele.Processes;
using Nefele.Protocol.V1;
using Nefele.Validation;
using DeliveryMode = Nefele.Protocol.V1.DeliveryMode;
using ErrorCodes = Nefele.Client.ErrorCodes;
using NameHolder = Nefele.Protocol.V1.NameHolder;

namespace Nefele.HostAgent.Messaging;

public sealed partial class PostOffice
{
    private readonly Lock callsGate = new();
    private readonly Dictionary<ulong, OutCall> outCalls = [];
    private ulong nextCallId;

    private static readonly KeyValuePair<string, object?> Unroutable = new(Nefele.Observability.Instruments.Attributes.Reason, "receiver_ended");

    private static int MaxWaitMs => (int)Limits.MaxMessagingWait.TotalMilliseconds;

    /// <summary>
    /// A send from <paramref name="caller"/>: checked at the door, resolved against this node's
    /// mailboxes and the tenant's table, put in local mailboxes by this thread, and sent up as one
    /// MessageOut for whatever is elsewhere. Answered on <paramref name="sink"/> when settled.
    /// </summary>
    internal void Send(CallerIdentity caller, ulong id, SendRequest request, IReplySink sink)
    {
        if (CheckSend(request) is { } bad)
        {
            sink.Send(Failure(id, bad.Code, bad.Message));
            return;
        }

        var mode = request.Mode;
        var waitMs = Math.Min(request.WaitMs, MaxWaitMs);
        var route = Resolve(caller, request.To, mode, request.Ack);
        if (route.Error is { } error)
        {
            sink.Send(Failure(id, error.Code, error.Message));
            return;
        }

        var remote = route.Remote is { Count: > 0 } || mode == DeliveryMode.Broadcast;
        var link = Volatile.Read(ref silo);
        if (remote && link is null)
        {
            sink.Send(Failure(id, ErrorCodes.ControlPlaneUnavailable,
                $"no silo is attached to node {Node}: this send goes to mailboxes on other nodes, which only the silo reaches"));
            return;
        }

        var envelope = new Envelope(caller.Npid, mode == DeliveryMode.Broadcast ? "*" : request.To, request.Tag, request.Data, time.GetUtcNow().ToUnixTimeMilliseconds());
        var operation = new SendOperation(sink, id, envelope, waitMs, route.Single, request.Ack);
        foreach (var mailbox in route.Local)
        {
            operation.Offer(mailbox);
        }

        if (remote)
        {
            var outgoing = new MessageOut
            {
                Tenant = caller.Tenant,
                Message = envelope.ToMessage(0),
                Mode = mode,
                Ack = request.Ack,
                WaitMs = waitMs,
            };
            if (route.Remote is not null)
            {
                outgoing.Targets.AddRange(route.Remote);
            }

            // The sender waits for the outcome only when it asked to (ack) or may wait for room.
            if (request.Ack || waitMs > 0)
            {
                Call(link!, outgoing, operation, waitMs);
            }
            else
            {
                operation.Routed(route.Remote?.Count ?? 0);
                link!.Enqueue(OutEvent(outgoing));
            }
        }

        operation.Release();
    }

    /// <summary>Takes the oldest message (with the tag, if one is given) from the caller's own mailbox, or waits for one.</summary>
    internal void Receive(CallerIdentity caller, ulong id, ReceiveRequest request, IReplySink sink)
    {
        if (request.TimeoutMs < 0)
        {
            sink.Send(Failure(id, ErrorCodes.BadRequest, $"timeout_ms {request.TimeoutMs} must not be negative (0 answers at once, at most {MaxWaitMs})"));
            return;
        }

        if (!Names.IsMessageTag(request.Tag))
        {
            sink.Send(Failure(id, ErrorCodes.BadRequest, Refusal(() => Names.ValidateMessageTag(request.Tag))));
            return;
        }

        if (Find(caller.Npid, caller.Tenant) is not { } mailbox)
        {
            sink.Send(Failure(id, ErrorCodes.NotRunning, $"{caller.Npid} has no mailbox on node {Node}: its process has ended"));
            return;
        }

        // A batch larger than the bound is served up to the bound: the caller asks again for the rest.
        var max = (int)Math.Clamp(request.MaxMessages, 1u, (uint)Limits.MaxReceiveBatch);
        mailbox.Receive(request.Tag, Math.Min(request.TimeoutMs, MaxWaitMs), sink, id, max);
    }

    /// <summary>The silo's answer to a MessageOut that asked for one.</summary>
    internal void CompleteOut(MessageOutReply reply)
    {
        OutCall? call;
        lock (callsGate)
        {
            outCalls.Remove(reply.CallId, out call);
        }

        if (call is not null)
        {
            call.Timer.Dispose();
            call.Operation.Answered(reply);
        }
    }

    private static (string Code, string Message)? CheckSend(SendRequest request)
    {
        if (request.Data.Length > Limits.MaxMessageBytes)
        {
            return (ErrorCodes.MessageTooLarge, $"a message of {request.Data.Length} bytes is larger than the maximum, {Limits.MaxMessageBytes} bytes (1 MiB)");
        }

        if (!Names.IsMessageTag(request.Tag))
        {
            return (ErrorCodes.BadRequest, Refusal(() => Names.ValidateMessageTag(request.Tag)));
        }

        if (!Enum.IsDefined(request.Mode))
        {
            return (ErrorCodes.BadRequest, $"delivery mode {(int)request.Mode} is not one of unspecified, any, failover, all, broadcast, publish");
        }

        if (request.WaitMs < 0)
        {
            return (ErrorCodes.BadRequest, $"wait_ms {request.WaitMs} must not be negative (0 fails at once when a mailbox is full, at most {MaxWaitMs})");
        }

        return request.Mode switch
        {
            DeliveryMode.Broadcast => null,
            DeliveryMode.Publish => Names.IsServiceName(request.To) ? null : (ErrorCodes.BadRequest, Refusal(() => Names.ValidateServiceName(request.To, "topic"))),
            _ => Npid.IsWellFormed(request.To) || Names.IsServiceName(request.To) ? null : (ErrorCodes.BadRequest, Refusal(() => Names.ValidateDestination(request.To))),
        };
    }

    /// <summary>The sentence the shared rule gives for a refusal (the rule is written once, in Nefele.Validation).</summary>
    private static string Refusal(Action validate)
    {
        try
        {
            validate();
        }
        catch (NefeleException e)
        {
            return e.Message;
        }

        return "invalid request";
    }

    /// <summary>Where a send goes: local mailboxes, NPIDs for the silo, or why it cannot go.</summary>
    private Route Resolve(CallerIdentity caller, string to, DeliveryMode mode, bool ack)
    {
        var tenant = caller.Tenant;
        if (mode == DeliveryMode.Broadcast)
        {
            var everyone = new List<Mailbox>();
            foreach (var mailbox in mailboxes.Values)
            {
                if (mailbox.State == MailboxState.Open && string.Equals(mailbox.Tenant, tenant, StringComparison.Ordinal)
                    && !string.Equals(mailbox.Owner, caller.Npid, StringComparison.Ordinal))
                {
                    everyone.Add(mailbox);
                }
            }

            return new Route(everyone, null, Single: false);
        }

        if (mode == DeliveryMode.Publish)
        {
            return Targets(tenant, Table(tenant).Subscribers(to), single: false);
        }

        if (Npid.IsWellFormed(to))
        {
            // An NPID is a group of one, whatever the mode.
            if (Find(to, tenant) is { } mailbox)
            {
                return new Route([mailbox], null, Single: true);
            }

            if (!KnownEnded(to, tenant))
            {
                return new Route([], [to], Single: true);
            }

            // At most once: only an acknowledged send hears that its receiver has ended.
            if (ack)
            {
                return Route.Failed(ErrorCodes.NotRunning, $"{to} has ended: its mailbox ended with it");
            }

            HostAgentTelemetry.MessagesDropped.Add(1, Unroutable);
            return new Route([], null, Single: true);
        }

        var holders = Table(tenant).Holders(to);
        if (holders.Count == 0)
        {
            return Route.Failed(ErrorCodes.NameNotFound, $"no process holds the name '{to}' in tenant {tenant}");
        }

        var live = new List<NameHolder>(holders.Count);
        foreach (var holder in holders)
        {
            if (!HasEnded(holder, tenant))
            {
                live.Add(holder);
            }
        }

        if (live.Count == 0)
        {
            return Route.Failed(ErrorCodes.NameNotFound, $"every holder of the name '{to}' has ended");
        }

        return mode switch
        {
            DeliveryMode.All => Targets(tenant, live, single: false),
            DeliveryMode.Failover => Targets(tenant, [live[0]], single: true),
            _ => Targets(tenant, [live[(int)(Rotation(tenant, to) % (uint)live.Count)]], single: true),
        };
    }

    /// <summary>Local holders (mailboxes here) go straight in; the rest, external mailboxes included, go to the silo.</summary>
    private Route Targets(string tenant, IReadOnlyList<NameHolder> holders, bool single)
    {
        var local = new List<Mailbox>();
        List<string>? remote = null;
        foreach (var holder in holders)
        {
            if (Find(holder.Npid, tenant) is { } mailbox)
            {
                local.Add(mailbox);
            }
            else if (!HasEnded(holder, tenant))
            {
                (remote ??= []).Add(holder.Npid);
            }
        }

        return new Route(local, remote, single);
    }

    /// <summary>A holder whose mailbox is known ended: one of this node's processes that ended. Others are taken as live.</summary>
    private bool HasEnded(NameHolder holder, string tenant) =>
        Find(holder.Npid, tenant) is { } mailbox ? mailbox.State == MailboxState.Ended : KnownEnded(holder.Npid, tenant);

    private void Call(IControlConnection link, MessageOut outgoing, SendOperation operation, int waitMs)
    {
        operation.Expect();
        OutCall call;
        lock (callsGate)
        {
            outgoing.CallId = ++nextCallId;
            call = new OutCall(this, outgoing.CallId, operation);
            outCalls[outgoing.CallId] = call;
            call.Timer = time.CreateTimer(static s => ((OutCall)s!).TimedOut(), call, TimeSpan.FromMilliseconds(waitMs) + options.SiloAnswerTimeout, Timeout.InfiniteTimeSpan);
        }

        link.Enqueue(OutEvent(outgoing));
    }

    /// <summary>
    /// A send leaving the node. When traced, it starts a trace (a send is an operation of its own)
    /// that the silo's routing continues.
    /// </summary>
    private static ControlEvent OutEvent(MessageOut outgoing)
    {
        var ev = new ControlEvent { MessageOut = outgoing };
        using var span = HostAgentSpans.StartDetached("nefele.hostd.send", System.Diagnostics.ActivityKind.Producer, default);
        if (span is not null)
        {
            span.SetTag(Tracing.SpanAttributes.Tenant, outgoing.Tenant);
            span.SetTag(Tracing.SpanAttributes.Npid, outgoing.Message?.From);
            span.SetTag("messaging.destination.name", outgoing.Message?.To);
            Protocol.TraceContext.Stamp(ev, span);
        }

        return ev;
    }

    private void OutCallTimedOut(OutCall call)
    {
        lock (callsGate)
        {
            if (!outCalls.Remove(call.CallId))
            {
                return;
            }
        }

        call.Timer.Dispose();
        call.Operation.Failed(ErrorCodes.ControlPlaneUnavailable, $"the silo did not answer within {options.SiloAnswerTimeout.TotalSeconds:0.###} s beyond the send's wait");
    }

    private void FailOutCalls(string code, string message)
    {
        List<OutCall> orphaned;
        lock (callsGate)
        {
            orphaned = [.. outCalls.Values];
            outCalls.Clear();
        }

        foreach (var call in orphaned)
        {
            call.Timer.Dispose();
            call.Operation.Failed(code, message);
        }
    }

    private readonly record struct Route(List<Mailbox> Local, List<string>? Remote, bool Single, (string Code, string Message)? Error = null)
    {
        public static Route Failed(string code, string message) => new([], null, Single: true, (code, message));
    }

    private sealed class OutCall(PostOffice post, ulong callId, SendOperation operation)
    {
        public ulong CallId { get; } = callId;

        public SendOperation Operation { get; } = operation;

        public ITimer Timer { get; set; } = null!;

        public void TimedOut() => post.OutCallTimedOut(this);
    }

    /// <summary>
    /// One send in progress: counts the mailboxes reached and answers once every part is settled
    /// (local mailboxes that waited for room, the silo's answer). A failure of a one-target send is
    /// the send's error; a group send that missed a mailbox fails too, saying how many got it.
    /// </summary>
    private sealed class SendOperation(IReplySink sink, ulong id, Envelope envelope, int waitMs, bool single, bool ack) : IPutCallback
    {
        private readonly Lock gate = new();

        // One for the sending thread itself, released when it has handed everything out.
        private int pending = 1;
        private int delivered;
        private string? code;
        private string? message;

        public void Offer(Mailbox mailbox)
        {
            Expect();
            var outcome = mailbox.Put(envelope, waitMs, this);
            if (outcome != PutOutcome.Waiting)
            {
                Settled(mailbox, outcome);
            }
        }

        public void Expect() => Interlocked.Increment(ref pending);

        public void Routed(int count) => Interlocked.Add(ref delivered, count);

        public void Settled(Mailbox mailbox, PutOutcome outcome)
        {
            switch (outcome)
            {
                case PutOutcome.Delivered:
                    Interlocked.Increment(ref delivered);
                    break;
                case PutOutcome.Full:
                    Fail(ErrorCodes.MailboxFull, mailbox.DescribeFull(envelope.Size, waitMs));
                    break;
                case PutOutcome.Ended when single && ack:
                    Fail(ErrorCodes.NotRunning, $"{mailbox.Owner} has ended: its mailbox ended with it");
                    break;
                case PutOutcome.Ended:
                    HostAgentTelemetry.MessagesDropped.Add(1, Unroutable);
                    break;
            }

            Release();
        }

        public void Answered(MessageOutReply reply)
        {
            if (reply.Error is { } error)
            {
                Fail(error.Code, error.Message);
            }
            else
            {
                Interlocked.Add(ref delivered, (int)reply.Delivered);
            }

            Release();
        }

        public void Failed(string failure, string why)
        {
            Fail(failure, why);
            Release();
        }

        public void Release()
        {
            if (Interlocked.Decrement(ref pending) != 0)
            {
                return;
            }

            if (code is null)
            {
                sink.Send(new ProcResponse { Id = id, Send = new SendReply { Delivered = (uint)delivered } });
            }
            else
            {
                var got = single ? "" : $"; {delivered} mailbox(es) got the message";
                sink.Send(Failure(id, code, message + got));
            }
        }

        private void Fail(string failure, string why)
        {
            lock (gate)
            {
                if (code is null)
                {
                    code = failure;
                    message = why;
                }
            }
        }
    }
}
