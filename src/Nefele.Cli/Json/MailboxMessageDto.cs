namespace Nefele.Cli.Json;

/// <summary>Answer of GET .../mailbox/messages: one message, its data as base64.</summary>
internal sealed record MailboxMessageDto(string From, string To, string? Tag, byte[]? Data, ulong Seq, long SentUnixMs, int Remaining);
