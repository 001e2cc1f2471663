namespace Nefele.Messaging;

/// <summary>A node's mailbox counters, as its hostd reports them (MailboxStatsReply).</summary>
[GenerateSerializer, Immutable]
public sealed record MailboxStats
{
    [Id(0)] public long Mailboxes { get; init; }
    [Id(1)] public long QueuedMessages { get; init; }
    [Id(2)] public long QueuedBytes { get; init; }
    [Id(3)] public long DeliveredTotal { get; init; }
    [Id(4)] public long DroppedTotal { get; init; }
    [Id(5)] public long RefusedFullTotal { get; init; }
}
