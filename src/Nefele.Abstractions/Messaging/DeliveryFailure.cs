namespace Nefele.Messaging;

/// <summary>One target that did not get a message: not_running, npid_not_found, mailbox_full or node_unavailable.</summary>
[GenerateSerializer, Immutable]
public sealed record DeliveryFailure([property: Id(0)] string Target, [property: Id(1)] string Code, [property: Id(2)] string Message);
