namespace Nefele.Messaging;

/// <summary>An external mailbox: its address and how many messages wait in it.</summary>
[GenerateSerializer, Immutable]
public sealed record MailboxInfo([property: Id(0)] string Address, [property: Id(1)] int Queued);
