using Nefele.Client;

namespace Nefele.Messaging;

/// <summary>
/// One message on its way to mailboxes of one node or one external mailbox: the unit the router
/// batches per target (the silo's form of a DeliverRequest).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record MailItem
{
    [Id(0)] public required string Tenant { get; init; }

    /// <summary>The target mailboxes (NPIDs or addresses); empty with <see cref="Broadcast"/>.</summary>
    [Id(1)] public IReadOnlyList<string> Targets { get; init; } = [];

    [Id(2)] public required string From { get; init; }

    [Id(3)] public required string To { get; init; }

    [Id(4)] public string Tag { get; init; } = string.Empty;

    [Id(5)] public ReadOnlyMemory<byte> Data { get; init; }

    [Id(6)] public long SentUnixMs { get; init; }

    /// <summary>Every process of the tenant on the node but the sender.</summary>
    [Id(7)] public bool Broadcast { get; init; }

    /// <summary>The targets are placed on the node but not launched yet: make their mailboxes.</summary>
    [Id(8)] public bool Create { get; init; }

    /// <summary>How long a full mailbox may be waited on for room (0: fail at once with mailbox_full).</summary>
    [Id(9)] public int WaitMs { get; init; }

    /// <summary>The message as a receiver gets it, with <paramref name="seq"/>.</summary>
    public NefeleMessage ToMessage(ulong seq) => new()
    {
        From = From,
        To = To,
        Tag = Tag,
        Data = Data,
        Seq = seq,
        SentAt = DateTimeOffset.FromUnixTimeMilliseconds(SentUnixMs),
    };
}
