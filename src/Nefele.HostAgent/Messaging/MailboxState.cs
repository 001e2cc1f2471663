namespace Nefele.HostAgent.Messaging;

internal enum MailboxState
{
    /// <summary>Created by a delivery for a process placed on this node but not launched yet; dropped if no launch adopts it in time.</summary>
    Pending,

    /// <summary>The mailbox of a launched process.</summary>
    Open,

    /// <summary>Its process has ended: it takes nothing more.</summary>
    Ended,
}
