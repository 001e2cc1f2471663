namespace Nefele.HostAgent.Messaging;

/// <summary>Hears, once, what became of a message that waited for room in a full mailbox.</summary>
internal interface IPutCallback
{
    /// <summary><see cref="PutOutcome.Delivered"/>, <see cref="PutOutcome.Full"/> (no room in time) or <see cref="PutOutcome.Ended"/>; called outside the mailbox's lock.</summary>
    void Settled(Mailbox mailbox, PutOutcome outcome);
}
