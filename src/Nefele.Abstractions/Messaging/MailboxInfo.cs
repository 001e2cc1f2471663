namespace Nefele.Messaging;

/// <summary>
/// An external mailbox: its address, how many messages wait in it, and the node whose silo holds
/// it now (it moves only when that node dies and the mailbox is opened again elsewhere).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record MailboxInfo([property: Id(0)] string Address, [property: Id(1)] int Queued, [property: Id(2)] string Node = "");
