using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Nefele.HostAgent.Control;
using Nefele.Protocol.V1;
using Nefele.Validation;
using ErrorCodes = Nefele.Client.ErrorCodes;

namespace Nefele.HostAgent.Messaging;

/// <summary>
/// The node's mailboxes and its copy of each tenant's name tables: hostd's half of the single IPC
/// space. It routes what processes of this node send (local mailboxes directly; anything else up
/// to the silo as MessageOut), takes deliveries the silo brings from elsewhere, and answers
/// receive, wait_name and names from what it holds, never asking the cluster.
/// A mailbox lives from its process's launch (or from a delivery that arrives first) until the
/// process ends. Lookups take no lock; each mailbox has its own.
/// </summary>
public sealed partial class PostOffice
{
    // Ended mailboxes remembered so that a send to a process that just ended fails with
    // not_running (and failover skips it) instead of travelling to the silo to learn the same.
    private const int EndedKept = 10_000;

    private readonly HostAgentOptions options;
    private readonly ILogger<PostOffice> logger;
    private readonly TimeProvider time;
    private readonly ConcurrentDictionary<string, Mailbox> mailboxes = new(StringComparer.Ordinal);
    private readonly MailCounters counters = new();

    // Creating, adopting and ending mailboxes (rare) are serialised; sends and receives are not.
    private readonly Lock lifecycle = new();
    private readonly Dictionary<string, string> ended = new(StringComparer.Ordinal);
    private readonly Queue<string> endedOrder = new();
    private IControlConnection? silo;

    public PostOffice(HostAgentOptions options, ILogger<PostOffice> logger)
        : this(options, logger, TimeProvider.System)
    {
    }

    internal PostOffice(HostAgentOptions options, ILogger<PostOffice> logger, TimeProvider time)
    {
        this.options = options;
        this.logger = logger;
        this.time = time;
    }

    private string Node => options.Node;

    // ---- the silo connection -------------------------------------------------------------

    internal void Attach(IControlConnection connection) => Volatile.Write(ref silo, connection);

    /// <summary>The silo connection is gone: sends waiting on its answer fail with control_plane_unavailable.</summary>
    internal void Detach(IControlConnection connection)
    {
        if (Interlocked.CompareExchange(ref silo, null, connection) == connection)
        {
            FailOutCalls(ErrorCodes.ControlPlaneUnavailable, "the silo disconnected before answering");
        }
    }

    // ---- mailbox lifecycle ---------------------------------------------------------------

    /// <summary>
    /// Why a spec's mailbox bounds are refused (negative, or above Limits.MaxMailboxMessages /
    /// MaxMailboxBytes), naming the field; null when they are fine (0 takes the default).
    /// </summary>
    internal static string? CheckBounds(ProcessSpec spec)
    {
        if (spec.MailboxMessages is < 0 or > Limits.MaxMailboxMessages)
        {
            return $"spawn rejected: mailbox_messages {spec.MailboxMessages} must be between 1 and {Limits.MaxMailboxMessages} (0 takes the default, {Limits.DefaultMailboxMessages})";
        }

        if (spec.MailboxBytes is < 0 or > Limits.MaxMailboxBytes)
        {
            return $"spawn rejected: mailbox_bytes {spec.MailboxBytes} must be between 1 and {Limits.MaxMailboxBytes} (0 takes the default, {Limits.DefaultMailboxBytes})";
        }

        return null;
    }

    /// <summary>
    /// Opens the mailbox of a process being launched, with its spec's bounds; a pending mailbox
    /// (messages that came before the launch) becomes it, messages and all.
    /// </summary>
    internal void Open(string npid, string tenant, ProcessSpec spec)
    {
        var maxMessages = spec.MailboxMessages > 0 ? spec.MailboxMessages : Limits.DefaultMailboxMessages;
        var maxBytes = spec.MailboxBytes > 0 ? spec.MailboxBytes : Limits.DefaultMailboxBytes;
        Mailbox? stale = null;
        lock (lifecycle)
        {
            if (mailboxes.TryGetValue(npid, out var existing))
            {
                if (string.Equals(existing.Tenant, tenant, StringComparison.Ordinal) && existing.Adopt(maxMessages, maxBytes))
                {
                    return;
                }

                // Held for another tenant: the launch is the authority, and what was held is dropped.
                stale = existing;
            }

            ended.Remove(npid);
            mailboxes[npid] = new Mailbox(npid, tenant, maxMessages, maxBytes, pending: false, counters, time);
        }

        if (stale is not null)
        {
            LogDropped(stale, stale.End());
        }
    }

    /// <summary>The process ended (or never started): its mailbox ends, queued messages are dropped and counted.</summary>
    internal void Close(string npid)
    {
        Mailbox? mailbox;
        lock (lifecycle)
        {
            if (!mailboxes.TryRemove(npid, out mailbox))
            {
                return;
            }

            RememberEndedLocked(npid, mailbox.Tenant);
        }

        LogDropped(mailbox, mailbox.End());
    }

    /// <summary>A mailbox for a process placed here but not launched yet, created by a delivery; null if that process already ended.</summary>
    private Mailbox? OpenPending(string npid, string tenant)
    {
        lock (lifecycle)
        {
            if (mailboxes.TryGetValue(npid, out var existing))
            {
                return existing;
            }

            if (ended.ContainsKey(npid))
            {
                return null;
            }

            var mailbox = new Mailbox(npid, tenant, Limits.DefaultMailboxMessages, Limits.DefaultMailboxBytes, pending: true, counters, time);
            mailbox.Expiry = time.CreateTimer(static s => ((PendingExpiry)s!).Fire(), new PendingExpiry(this, mailbox), options.PendingMailboxTimeout, Timeout.InfiniteTimeSpan);
            mailboxes[npid] = mailbox;
            return mailbox;
        }
    }

    private void ExpirePending(Mailbox mailbox)
    {
        lock (lifecycle)
        {
            if (mailbox.State != MailboxState.Pending || !mailboxes.TryRemove(new KeyValuePair<string, Mailbox>(mailbox.Owner, mailbox)))
            {
                return;
            }
        }

        var dropped = mailbox.End();
        logger.LogInformation("No launch adopted the mailbox of {Npid} within {Timeout}: dropped it and its {Count} messages", mailbox.Owner, options.PendingMailboxTimeout, dropped);
    }

    private sealed class PendingExpiry(PostOffice post, Mailbox mailbox)
    {
        public void Fire() => post.ExpirePending(mailbox);
    }

    private void RememberEndedLocked(string npid, string tenant)
    {
        if (ended.TryAdd(npid, tenant))
        {
            endedOrder.Enqueue(npid);
            while (endedOrder.Count > EndedKept && endedOrder.TryDequeue(out var oldest))
            {
                ended.Remove(oldest);
            }
        }
    }

    private bool KnownEnded(string npid, string tenant)
    {
        lock (lifecycle)
        {
            return ended.TryGetValue(npid, out var owner) && string.Equals(owner, tenant, StringComparison.Ordinal);
        }
    }

    private void LogDropped(Mailbox mailbox, int dropped)
    {
        if (dropped > 0)
        {
            logger.LogDebug("The mailbox of {Npid} ended with its process: {Count} queued messages dropped", mailbox.Owner, dropped);
        }
    }

    /// <summary>The mailbox of <paramref name="npid"/> if it is on this node and of <paramref name="tenant"/>; another tenant's looks like none.</summary>
    private Mailbox? Find(string npid, string tenant) =>
        mailboxes.TryGetValue(npid, out var mailbox) && string.Equals(mailbox.Tenant, tenant, StringComparison.Ordinal) ? mailbox : null;

    // ---- counters -------------------------------------------------------------------------

    internal MailboxStatsReply Stats()
    {
        var reply = new MailboxStatsReply
        {
            DeliveredTotal = counters.Delivered,
            DroppedTotal = counters.Dropped,
            RefusedFullTotal = counters.RefusedFull,
        };
        foreach (var mailbox in mailboxes.Values)
        {
            var (messages, bytes) = mailbox.Queued;
            reply.Mailboxes++;
            reply.QueuedMessages += messages;
            reply.QueuedBytes += bytes;
        }

        return reply;
    }

    private static ProcResponse Failure(ulong id, string code, string message) => Mailbox.Failure(id, code, message);
}
