namespace Nefele.HostAgent.Messaging;

/// <summary>What became of a message offered to a mailbox.</summary>
internal enum PutOutcome
{
    /// <summary>In the mailbox, or handed straight to a receiver waiting for it.</summary>
    Delivered,

    /// <summary>The mailbox was full (and stayed full for the send's wait); the message was not queued.</summary>
    Full,

    /// <summary>The mailbox's process has ended; the message was not queued.</summary>
    Ended,

    /// <summary>Waiting for room; the callback hears the outcome.</summary>
    Waiting,
}
