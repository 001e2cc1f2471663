namespace Nefele.Silo.Api;

/// <summary>POST /messages: one message to send from the caller's mailbox.</summary>
/// <param name="To">An NPID or mailbox address, a name, "#id", or a topic (mode publish); ignored for broadcast.</param>
/// <param name="Data">The bytes, base64 (at most 1 MiB decoded).</param>
/// <param name="Tag">Optional: at most 64 printable ASCII characters.</param>
/// <param name="Mode">any, failover, all, broadcast or publish; default: the NPID's mailbox, or any for a name.</param>
/// <param name="Ack">Answer only once the message is in every target mailbox.</param>
/// <param name="WaitMs">How long a full mailbox may be waited on for room (0 to 10,000 ms; default 0).</param>
internal sealed record SendBody(string To, byte[] Data, string? Tag = null, string? Mode = null, bool? Ack = null, int? WaitMs = null);
