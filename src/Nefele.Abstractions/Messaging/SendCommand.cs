using Nefele.Client;
using Nefele.Errors;
using Nefele.Validation;

namespace Nefele.Messaging;

/// <summary>A send from outside the nodes' processes (the SDK, REST), as the messaging grain takes it.</summary>
[GenerateSerializer, Immutable]
public sealed record SendCommand
{
    /// <summary>The sender's mailbox address ("" when the sender has none).</summary>
    [Id(0)] public string From { get; init; } = string.Empty;

    /// <summary>An NPID or mailbox address, a name, "#id", or a topic (with <see cref="DeliveryMode.Publish"/>).</summary>
    [Id(1)] public required string To { get; init; }

    [Id(2)] public string Tag { get; init; } = string.Empty;

    [Id(3)] public ReadOnlyMemory<byte> Data { get; init; }

    [Id(4)] public DeliveryMode Mode { get; init; }

    /// <summary>Return once the message is in every target mailbox (else once it is routed).</summary>
    [Id(5)] public bool Ack { get; init; }

    /// <summary>How long a full mailbox may be waited on for room, at most Limits.MaxMessagingWait.</summary>
    [Id(6)] public TimeSpan Wait { get; init; }

    /// <summary>The rules every door (SDK, REST, the messaging grain) applies to a send; throws bad_request or message_too_large naming what was wrong.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Mode))
        {
            throw NefeleException.Bad($"delivery mode {(int)Mode} is unknown (allowed: default, any, failover, all, broadcast, publish)");
        }

        if (Mode == DeliveryMode.Publish)
        {
            Names.ValidateServiceName(To, "topic");
        }
        else if (Mode != DeliveryMode.Broadcast)
        {
            Names.ValidateDestination(To);
        }

        Names.ValidateMessageTag(Tag);
        if (Data.Length > Limits.MaxMessageBytes)
        {
            throw new NefeleException(ErrorCodes.MessageTooLarge, $"message of {Data.Length} bytes is too large (at most {Limits.MaxMessageBytes} bytes)");
        }

        if (Wait < TimeSpan.Zero || Wait > Limits.MaxMessagingWait)
        {
            throw NefeleException.Bad($"wait {Wait.TotalMilliseconds} ms is out of range (0 to {Limits.MaxMessagingWait.TotalMilliseconds} ms)");
        }

        if (!string.IsNullOrEmpty(From) && !MailboxAddress.IsExternal(From))
        {
            throw NefeleException.Bad($"sender '{Names.Shorten(From)}' is not a mailbox address");
        }
    }
}
