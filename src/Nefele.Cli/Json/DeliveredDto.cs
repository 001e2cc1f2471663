namespace Nefele.Cli.Json;

/// <summary>Answer of POST .../messages: the mailboxes the message was put in (ack) or routed to.</summary>
internal sealed record DeliveredDto(int Delivered);
