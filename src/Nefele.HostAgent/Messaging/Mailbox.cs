using Nefele.Errors;
using Nefele.HostAgent.Processes;
using Nefele.Protocol.V1;
using Nefele.Validation;
using ErrorCodes = Nefele.Client.ErrorCodes;

namespace Nefele.HostAgent.Messaging;

/// <summary>
/// The mailbox of one process of this node: a bounded FIFO (messages and data bytes), the
/// receivers waiting on it (long polls, optionally for one tag) and the senders waiting for room.
/// A message offered while a receiver waits for it is handed to that receiver at once, by the
/// sender's thread, without being queued. Senders waiting for room are served strictly in order,
/// and while any waits a newcomer waits behind it, so order per sender holds. Each operation
/// takes this mailbox's lock alone; answers are written after it is released.
/// </summary>
internal sealed class Mailbox
{
    private readonly Lock gate = new();
    private readonly LinkedList<Entry> queue = new();
    private readonly List<ReceiveWaiter> receivers = [];
    private readonly LinkedList<RoomWaiter> senders = new();
    private readonly Dictionary<string, ulong> seqs = new(StringComparer.Ordinal);
    private readonly MailCounters counters;
    private readonly TimeProvider time;
    private long bytes;
    private int maxMessages;
    private long maxBytes;

    public Mailbox(string owner, string tenant, int maxMessages, long maxBytes, bool pending, MailCounters counters, TimeProvider time)
    {
        Owner = owner;
        Tenant = tenant;
        this.maxMessages = maxMessages;
        this.maxBytes = maxBytes;
        this.counters = counters;
        this.time = time;
        State = pending ? MailboxState.Pending : MailboxState.Open;
    }

    /// <summary>The NPID of the process whose mailbox this is.</summary>
    public string Owner { get; }

    public string Tenant { get; }

    public MailboxState State { get; private set; }

    /// <summary>Removes a pending mailbox that no launch adopted in time; set by whoever created it.</summary>
    public ITimer? Expiry { get; set; }

    public (int Messages, long Bytes) Queued
    {
        get
        {
            lock (gate)
            {
                return (queue.Count, bytes);
            }
        }
    }

    /// <summary>The process was launched: a pending mailbox becomes its mailbox, with the launch's bounds. False if it has ended.</summary>
    public bool Adopt(int messages, long byteBound)
    {
        lock (gate)
        {
            if (State == MailboxState.Ended)
            {
                return false;
            }

            State = MailboxState.Open;
            maxMessages = messages;
            maxBytes = byteBound;
            Expiry?.Dispose();
            Expiry = null;
            return true;
        }
    }

    /// <summary>
    /// Offers <paramref name="envelope"/>. With room (and no sender waiting ahead) it is delivered at
    /// once; when full, <paramref name="waitMs"/> 0 refuses it at once, otherwise it waits up to that
    /// long for room and <paramref name="callback"/> hears the outcome (<see cref="PutOutcome.Waiting"/>).
    /// </summary>
    public PutOutcome Put(Envelope envelope, int waitMs, IPutCallback? callback)
    {
        ReceiveWaiter? taker = null;
        Message? handed = null;
        var remaining = 0;
        lock (gate)
        {
            if (State == MailboxState.Ended)
            {
                return PutOutcome.Ended;
            }

            if (senders.Count == 0 && TakeReceiverLocked(envelope.Tag) is { } receiver)
            {
                taker = receiver;
                handed = envelope.ToMessage(NextSeqLocked(envelope.From));
                remaining = queue.Count;
            }
            else if (senders.Count == 0 && FitsLocked(envelope.Size))
            {
                EnqueueLocked(envelope);
            }
            else if (waitMs <= 0 || callback is null || envelope.Size > maxBytes)
            {
                // A message larger than the whole byte bound never fits: waiting would only delay the refusal.
                counters.AddRefusedFull();
                return PutOutcome.Full;
            }
            else
            {
                var waiter = new RoomWaiter(this, envelope, callback);
                waiter.Node = senders.AddLast(waiter);
                waiter.Timer = time.CreateTimer(static s => ((RoomWaiter)s!).TimedOut(), waiter, TimeSpan.FromMilliseconds(waitMs), Timeout.InfiniteTimeSpan);
                return PutOutcome.Waiting;
            }
        }

        counters.AddDelivered();
        taker?.Answer(handed!, remaining);
        return PutOutcome.Delivered;
    }

    /// <summary>
    /// Takes the oldest message (with <paramref name="tag"/>, when not empty) for the receive
    /// <paramref name="requestId"/> of <paramref name="sink"/>: at once if there is one, else when one
    /// comes within <paramref name="timeoutMs"/> (then timed_out). With <paramref name="max"/> above 1
    /// (a batch receive) it takes up to that many queued ones at once, oldest first, while the data
    /// after the first stays within <see cref="Limits.MaxReceiveBatchBytes"/>; a receive that has to
    /// wait gets the one message that ends its wait.
    /// </summary>
    public void Receive(string tag, int timeoutMs, IReplySink sink, ulong requestId, int max = 1)
    {
        ReceiveReply? reply = null;
        List<Settlement>? settled = null;
        string? refusal = null;
        lock (gate)
        {
            if (State == MailboxState.Ended)
            {
                refusal = ErrorCodes.NotRunning;
            }
            else if (FindLocked(tag, queue.First) is { } node)
            {
                reply = new ReceiveReply { Message = TakeLocked(node, out var after) };
                var budget = (long)Limits.MaxReceiveBatchBytes;
                for (var taken = 1; taken < max; taken++)
                {
                    node = FindLocked(tag, after);
                    if (node is null || node.Value.Envelope.Size > budget)
                    {
                        break;
                    }

                    budget -= node.Value.Envelope.Size;
                    reply.More.Add(TakeLocked(node, out after));
                }

                settled = AdmitLocked();
                reply.Remaining = (uint)queue.Count;
            }
            else if (timeoutMs <= 0)
            {
                refusal = ErrorCodes.TimedOut;
            }
            else
            {
                var waiter = new ReceiveWaiter(this, sink, requestId, tag, timeoutMs);
                receivers.Add(waiter);
                waiter.Timer = time.CreateTimer(static s => ((ReceiveWaiter)s!).TimedOut(), waiter, TimeSpan.FromMilliseconds(timeoutMs), Timeout.InfiniteTimeSpan);
                return;
            }
        }

        if (reply is not null)
        {
            sink.Send(new ProcResponse { Id = requestId, Receive = reply });
            Run(settled);
        }
        else if (refusal == ErrorCodes.NotRunning)
        {
            sink.Send(Failure(requestId, ErrorCodes.NotRunning, $"the mailbox of {Owner} has ended with its process"));
        }
        else
        {
            sink.Send(Failure(requestId, ErrorCodes.TimedOut, TimedOutMessage(tag, timeoutMs)));
        }
    }

    /// <summary>Removes <paramref name="node"/>'s message from the queue and answers it as the receiver gets it; <paramref name="after"/> is the node that followed it.</summary>
    private Message TakeLocked(LinkedListNode<Entry> node, out LinkedListNode<Entry>? after)
    {
        after = node.Next;
        queue.Remove(node);
        bytes -= node.Value.Envelope.Size;
        return node.Value.Envelope.ToMessage(node.Value.Seq);
    }

    /// <summary>
    /// The process ended: the mailbox takes nothing more, its queued messages are dropped (and
    /// counted), waiting receivers get not_running and waiting senders hear <see cref="PutOutcome.Ended"/>.
    /// Returns how many messages were dropped.
    /// </summary>
    public int End()
    {
        List<ReceiveWaiter> waiting;
        List<RoomWaiter> blocked;
        int dropped;
        lock (gate)
        {
            if (State == MailboxState.Ended)
            {
                return 0;
            }

            State = MailboxState.Ended;
            Expiry?.Dispose();
            Expiry = null;
            dropped = queue.Count;
            queue.Clear();
            bytes = 0;
            waiting = [.. receivers];
            receivers.Clear();
            blocked = [.. senders];
            senders.Clear();
            foreach (var w in waiting)
            {
                w.Timer?.Dispose();
            }

            foreach (var s in blocked)
            {
                s.Timer?.Dispose();
            }
        }

        counters.AddDropped(dropped);
        foreach (var w in waiting)
        {
            w.Sink.Send(Failure(w.RequestId, ErrorCodes.NotRunning, $"the mailbox of {Owner} has ended with its process"));
        }

        foreach (var s in blocked)
        {
            s.Callback.Settled(this, PutOutcome.Ended);
        }

        return dropped;
    }

    /// <summary>Why a message of <paramref name="size"/> bytes was refused as full, for the sender's error.</summary>
    public string DescribeFull(int size, int waitMs)
    {
        int messages;
        long byteBound;
        lock (gate)
        {
            messages = maxMessages;
            byteBound = maxBytes;
        }

        if (size > byteBound)
        {
            return $"the mailbox of {Owner} holds at most {byteBound} bytes, less than this message's {size}";
        }

        var within = waitMs > 0 ? $" and had no room within {waitMs} ms" : "";
        return $"the mailbox of {Owner} is full (at most {messages} messages and {byteBound} bytes){within}";
    }

    private void RoomTimedOut(RoomWaiter waiter)
    {
        List<Settlement>? settled;
        lock (gate)
        {
            if (waiter.Node?.List is null)
            {
                return;
            }

            senders.Remove(waiter.Node);
            waiter.Timer?.Dispose();

            // The one that gave up may have been what held back smaller ones behind it.
            settled = AdmitLocked();
        }

        counters.AddRefusedFull();
        waiter.Callback.Settled(this, PutOutcome.Full);
        Run(settled);
    }

    private void ReceiveTimedOut(ReceiveWaiter waiter)
    {
        lock (gate)
        {
            if (!receivers.Remove(waiter))
            {
                return;
            }

            waiter.Timer?.Dispose();
        }

        waiter.Sink.Send(Failure(waiter.RequestId, ErrorCodes.TimedOut, TimedOutMessage(waiter.Tag, waiter.TimeoutMs)));
    }

    private bool FitsLocked(int size) => queue.Count < maxMessages && bytes + size <= maxBytes;

    private ulong NextSeqLocked(string from)
    {
        ref var seq = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(seqs, from, out _);
        return ++seq;
    }

    private void EnqueueLocked(Envelope envelope)
    {
        queue.AddLast(new Entry(envelope, NextSeqLocked(envelope.From)));
        bytes += envelope.Size;
    }

    /// <summary>The first waiting receiver that takes a message with <paramref name="tag"/>, removed; receivers whose connection closed are dropped on the way.</summary>
    private ReceiveWaiter? TakeReceiverLocked(string tag)
    {
        for (var i = 0; i < receivers.Count; i++)
        {
            var w = receivers[i];
            if (!w.Sink.IsOpen)
            {
                w.Timer?.Dispose();
                receivers.RemoveAt(i--);
                continue;
            }

            if (w.Tag.Length == 0 || string.Equals(w.Tag, tag, StringComparison.Ordinal))
            {
                w.Timer?.Dispose();
                receivers.RemoveAt(i);
                return w;
            }
        }

        return null;
    }

    /// <summary>The first queued message from <paramref name="from"/> on that carries <paramref name="tag"/> (any, when empty).</summary>
    private static LinkedListNode<Entry>? FindLocked(string tag, LinkedListNode<Entry>? from)
    {
        if (tag.Length == 0)
        {
            return from;
        }

        for (var node = from; node is not null; node = node.Next)
        {
            if (string.Equals(node.Value.Envelope.Tag, tag, StringComparison.Ordinal))
            {
                return node;
            }
        }

        return null;
    }

    /// <summary>Lets in the senders at the head of the wait line that fit now; their outcomes are run after the lock.</summary>
    private List<Settlement>? AdmitLocked()
    {
        List<Settlement>? settled = null;
        while (senders.First is { } first && (receivers.Count > 0 || FitsLocked(first.Value.Envelope.Size)))
        {
            var waiter = first.Value;
            var envelope = waiter.Envelope;
            ReceiveWaiter? taker = null;
            Message? handed = null;
            if (TakeReceiverLocked(envelope.Tag) is { } receiver)
            {
                taker = receiver;
                handed = envelope.ToMessage(NextSeqLocked(envelope.From));
            }
            else if (FitsLocked(envelope.Size))
            {
                EnqueueLocked(envelope);
            }
            else
            {
                // Receivers wait, but for another tag, and there is no room.
                break;
            }

            senders.RemoveFirst();
            waiter.Timer?.Dispose();
            (settled ??= []).Add(new Settlement(waiter, taker, handed, queue.Count));
        }

        return settled;
    }

    private void Run(List<Settlement>? settled)
    {
        if (settled is null)
        {
            return;
        }

        foreach (var s in settled)
        {
            counters.AddDelivered();
            s.Taker?.Answer(s.Handed!, s.Remaining);
            s.Waiter.Callback.Settled(this, PutOutcome.Delivered);
        }
    }

    private string TimedOutMessage(string tag, int timeoutMs)
    {
        var what = tag.Length > 0 ? $"no message tagged '{tag}'" : "no message";
        return $"{what} came to the mailbox of {Owner} within {timeoutMs} ms";
    }

    internal static ProcResponse Failure(ulong id, string code, string message) =>
        new() { Id = id, Error = new Error { Code = code, Message = message } };

    private readonly record struct Entry(Envelope Envelope, ulong Seq);

    private readonly record struct Settlement(RoomWaiter Waiter, ReceiveWaiter? Taker, Message? Handed, int Remaining);

    private sealed class ReceiveWaiter(Mailbox mailbox, IReplySink sink, ulong requestId, string tag, int timeoutMs)
    {
        public IReplySink Sink { get; } = sink;

        public ulong RequestId { get; } = requestId;

        public string Tag { get; } = tag;

        public int TimeoutMs { get; } = timeoutMs;

        public ITimer? Timer { get; set; }

        public void TimedOut() => mailbox.ReceiveTimedOut(this);

        public void Answer(Message message, int remaining) =>
            Sink.Send(new ProcResponse { Id = RequestId, Receive = new ReceiveReply { Message = message, Remaining = (uint)remaining } });
    }

    private sealed class RoomWaiter(Mailbox mailbox, Envelope envelope, IPutCallback callback)
    {
        public Envelope Envelope { get; } = envelope;

        public IPutCallback Callback { get; } = callback;

        public LinkedListNode<RoomWaiter>? Node { get; set; }

        public ITimer? Timer { get; set; }

        public void TimedOut() => mailbox.RoomTimedOut(this);
    }
}
