namespace Nefele.HostAgent.Messaging;

/// <summary>The node's messaging totals since hostd started (MailboxStatsReply).</summary>
internal sealed class MailCounters
{
    private long delivered;
    private long dropped;
    private long refusedFull;

    public long Delivered => Volatile.Read(ref delivered);

    public long Dropped => Volatile.Read(ref dropped);

    public long RefusedFull => Volatile.Read(ref refusedFull);

    public void AddDelivered() => Interlocked.Increment(ref delivered);

    public void AddDropped(long count)
    {
        if (count > 0)
        {
            Interlocked.Add(ref dropped, count);
            HostAgentTelemetry.MessagesDropped.Add(count, new KeyValuePair<string, object?>(Nefele.Observability.Instruments.Attributes.Reason, "mailbox_ended"));
        }
    }

    public void AddRefusedFull() => Interlocked.Increment(ref refusedFull);
}
