using Nefele.Protocol.V1;

namespace Nefele.InProcess;

/// <summary>How <see cref="NefeleProcess.SendAsync"/> delivers a message. The defaults: no tag, the
/// destination's own mode (an NPID: that mailbox; a name: any one holder), not acknowledged, no wait for room.</summary>
public sealed record SendOptions
{
    /// <summary>An optional tag (at most 64 printable ASCII characters) a receiver can select on.</summary>
    public string? Tag { get; init; }

    /// <summary>The delivery pattern: any-cast, failover, the whole group, broadcast or publish.</summary>
    public DeliveryMode Mode { get; init; } = DeliveryMode.Unspecified;

    /// <summary>Return only once the message is in every target mailbox (else once hostd accepted it for routing).</summary>
    public bool Ack { get; init; }

    /// <summary>When a target mailbox is full: zero fails at once with <c>mailbox_full</c>; longer waits up to this
    /// long for room (at most 10 s), then fails with <c>mailbox_full</c>.</summary>
    public TimeSpan Wait { get; init; }
}
