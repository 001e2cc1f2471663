namespace Nefele.Client;

/// <summary>One message as its receiver gets it.</summary>
[GenerateSerializer, Immutable]
public sealed record NefeleMessage
{
    /// <summary>The sender's NPID or mailbox address ("" when the sender gave none).</summary>
    [Id(0)] public required string From { get; init; }

    /// <summary>The destination as the sender wrote it: an NPID, a mailbox address, a name, "#80", a topic, or "*" (broadcast).</summary>
    [Id(1)] public required string To { get; init; }

    /// <summary>The sender's tag ("" when none).</summary>
    [Id(2)] public string Tag { get; init; } = string.Empty;

    /// <summary>The bytes sent (at most 1 MiB).</summary>
    [Id(3)] public ReadOnlyMemory<byte> Data { get; init; }

    /// <summary>Per (sender, receiver mailbox) sequence number from 1: a gap shows where messages were dropped.</summary>
    [Id(4)] public ulong Seq { get; init; }

    /// <summary>When the sender sent it (the sender's clock).</summary>
    [Id(5)] public DateTimeOffset SentAt { get; init; }
}
