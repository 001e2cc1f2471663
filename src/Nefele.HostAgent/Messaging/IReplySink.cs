using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Messaging;

/// <summary>
/// Where the answer to a process's request goes: its api socket connection. Answers may be sent
/// from any thread (a receive is answered by the thread of the send that fills it) and never block.
/// </summary>
internal interface IReplySink
{
    /// <summary>False once the connection has closed: answers sent then are dropped.</summary>
    bool IsOpen { get; }

    /// <summary>Queues <paramref name="response"/> for the connection; writes it at once when nothing is ahead of it.</summary>
    void Send(ProcResponse response);
}
