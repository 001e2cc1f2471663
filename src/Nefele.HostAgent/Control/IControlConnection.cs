using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Control;

/// <summary>A silo connection as the supervisor sees it: an ordered queue of outgoing events.</summary>
internal interface IControlConnection
{
    /// <summary>Queues an event; events go out in the order queued. A closed connection drops it.</summary>
    void Enqueue(ControlEvent ev);
}
