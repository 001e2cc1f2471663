namespace Nefele.Cli.Json;

/// <summary>Answer of GET .../mailbox: the caller's own mailbox (one per API key, its address stable for the key).</summary>
internal sealed record MailboxDto(string Address, int Queued);
