namespace Nefele.Client;

/// <summary>How a message is sent: its tag, the delivery pattern, and whether to wait for its delivery.</summary>
public sealed class SendOptions
{
    /// <summary>An optional tag the receiver can select on: at most 64 printable ASCII characters. Default none.</summary>
    public string? Tag { get; init; }

    /// <summary>The delivery pattern. Default <see cref="DeliveryMode.Default"/>: the NPID's mailbox, or any-cast for a name.</summary>
    public DeliveryMode Mode { get; init; }

    /// <summary>Return only once the message is in every target mailbox (else once it is routed). Default false.</summary>
    public bool Ack { get; init; }

    /// <summary>
    /// How long to wait for room when a target mailbox is full before failing with
    /// <see cref="ErrorCodes.MailboxFull"/>; at most 10 s. Default zero: fail at once.
    /// </summary>
    public TimeSpan Wait { get; init; }
}
