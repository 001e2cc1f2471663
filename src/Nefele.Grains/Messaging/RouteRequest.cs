using Nefele.Client;

namespace Nefele.Messaging;

/// <summary>One send as it enters a silo's router: from its node's hostd (MessageOut) or from the SDK or REST.</summary>
public sealed record RouteRequest
{
    public required string Tenant { get; init; }

    /// <summary>The node whose hostd sent it, which has served its own node's targets already; null from the SDK or REST.</summary>
    public string? SourceNode { get; init; }

    /// <summary>Target mailboxes hostd resolved; null: resolve <see cref="To"/> by <see cref="Mode"/> here.</summary>
    public IReadOnlyList<string>? Targets { get; init; }

    public required string From { get; init; }

    public required string To { get; init; }

    public string Tag { get; init; } = string.Empty;

    public ReadOnlyMemory<byte> Data { get; init; }

    public long SentUnixMs { get; init; }

    public DeliveryMode Mode { get; init; }

    public bool Ack { get; init; }

    public int WaitMs { get; init; }
}
