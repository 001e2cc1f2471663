using Google.Protobuf;
using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Messaging;

/// <summary>
/// One message as sent: shared, unchanged, by every mailbox it goes to (a group send puts the same
/// envelope in several); each mailbox adds its own sequence number when the receiver takes it.
/// The data is an immutable <see cref="ByteString"/>, so no mailbox copies it.
/// </summary>
internal sealed class Envelope(string from, string to, string tag, ByteString data, long sentUnixMs)
{
    public string From { get; } = from;

    public string To { get; } = to;

    public string Tag { get; } = tag;

    public ByteString Data { get; } = data;

    public long SentUnixMs { get; } = sentUnixMs;

    /// <summary>What counts against a mailbox's byte bound: the data.</summary>
    public int Size => Data.Length;

    public static Envelope Of(Message message) =>
        new(message.From, message.To, message.Tag, message.Data, message.SentUnixMs);

    public Message ToMessage(ulong seq) => new()
    {
        From = From,
        To = To,
        Tag = Tag,
        Data = Data,
        Seq = seq,
        SentUnixMs = SentUnixMs,
    };
}
