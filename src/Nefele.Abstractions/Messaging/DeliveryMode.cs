namespace Nefele.Client;

/// <summary>
/// How a send picks its receivers (the wire's DeliveryMode, same numbers). To an NPID or a mailbox
/// address the message goes to that mailbox whatever the mode, except <see cref="Broadcast"/>.
/// </summary>
public enum DeliveryMode
{
    /// <summary>To an NPID: that mailbox. To a name or service id: <see cref="Any"/>.</summary>
    Default = 0,

    /// <summary>Any-cast, round-robin over the name's holders.</summary>
    Any = 1,

    /// <summary>Any-cast to the first live holder in registration order; when it dies, the next one.</summary>
    Failover = 2,

    /// <summary>Multicast to every holder of the name (the group).</summary>
    All = 3,

    /// <summary>Every process of the tenant but the sender (the destination is ignored).</summary>
    Broadcast = 4,

    /// <summary>Every subscriber of the topic the destination names.</summary>
    Publish = 5,
}
