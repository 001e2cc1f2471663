using System.Buffers.Binary;
using Google.Protobuf;

namespace Nefele.Protocol;

/// <summary>
/// Length-prefixed protobuf frames: a 4-byte big-endian length, then one message.
/// The one framing every Nefele socket uses (see protos/nefele/v1/common.proto).
/// </summary>
public static class FrameCodec
{
    /// <summary>Largest frame accepted or sent: 4 MiB.</summary>
    public const int MaxFrameBytes = 4 * 1024 * 1024;

    /// <summary>
    /// The read side of a connection for <see cref="ReadAsync"/>: one receive takes whatever the
    /// socket holds (a frame's header and body, and the frames queued behind it) instead of one
    /// receive for the header and another for the body. Write to <paramref name="stream"/> itself;
    /// disposing the reader disposes <paramref name="stream"/>.
    /// </summary>
    public static Stream Reader(Stream stream) => new BufferedStream(stream, 16 * 1024);

    /// <summary>Reads one frame; returns null on a clean end of stream before a frame starts.</summary>
    /// <exception cref="ProtocolException">The frame is too long, truncated, or does not parse.</exception>
    public static async Task<T?> ReadAsync<T>(Stream stream, MessageParser<T> parser, CancellationToken ct)
        where T : class, IMessage<T>
    {
        var header = new byte[4];
        var got = await ReadFullyAsync(stream, header, ct).ConfigureAwait(false);
        if (got == 0)
        {
            return null;
        }

        if (got < 4)
        {
            throw new ProtocolException("truncated frame header");
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (length > MaxFrameBytes)
        {
            throw new ProtocolException($"frame of {length} bytes exceeds the {MaxFrameBytes}-byte limit");
        }

        var body = new byte[length];
        if (await ReadFullyAsync(stream, body, ct).ConfigureAwait(false) < length)
        {
            throw new ProtocolException($"truncated frame: expected {length} bytes");
        }

        return Parse(body, parser);
    }

    /// <summary>Parses a frame's body (read without its 4-byte header).</summary>
    /// <exception cref="ProtocolException">The body does not parse.</exception>
    public static T Parse<T>(byte[] body, MessageParser<T> parser)
        where T : class, IMessage<T>
    {
        try
        {
            return parser.ParseFrom(body);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ProtocolException($"malformed {typeof(T).Name} frame: {e.Message}");
        }
    }

    /// <summary>Encodes one message as a frame (header and body in one buffer, one write).</summary>
    public static byte[] Encode(IMessage message)
    {
        var size = message.CalculateSize();
        if (size > MaxFrameBytes)
        {
            throw new ProtocolException($"frame of {size} bytes exceeds the {MaxFrameBytes}-byte limit");
        }

        var buffer = new byte[4 + size];
        BinaryPrimitives.WriteUInt32BigEndian(buffer, (uint)size);
        message.WriteTo(buffer.AsSpan(4));
        return buffer;
    }

    /// <summary>Writes one message as a frame and flushes the stream.</summary>
    /// <param name="stream">The connection.</param>
    /// <param name="message">The message.</param>
    /// <param name="ct">Cancels the write.</param>
    /// <returns>A task that completes once the frame is written.</returns>
    /// <exception cref="ProtocolException">The message is larger than <see cref="MaxFrameBytes"/>.</exception>
    public static async Task WriteAsync(Stream stream, IMessage message, CancellationToken ct)
    {
        var frame = Encode(message);
        await stream.WriteAsync(frame, ct).ConfigureAwait(false);
        await stream.FlushAsync(ct).ConfigureAwait(false);
    }

    private static async Task<int> ReadFullyAsync(Stream stream, byte[] buffer, CancellationToken ct)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(total), ct).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }
}
