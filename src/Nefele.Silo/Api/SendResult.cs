namespace Nefele.Silo.Api;

/// <summary>What a send reached: mailboxes the message was put in (ack) or routed to.</summary>
internal sealed record SendResult(int Delivered);
