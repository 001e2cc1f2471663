namespace Nefele.Silo.Api;

/// <summary>One message taken from the caller's mailbox, and how many stay queued after it.</summary>
internal sealed record ReceivedBody(string From, string To, string Tag, byte[] Data, ulong Seq, long SentUnixMs, int Remaining);
