using System.Buffers.Binary;
using Google.Protobuf;

namespace Nefele.Protocol;

/// <summary>
/// Reads <see cref="FrameCodec"/> frames from a stream through a buffer of its own, like
/// <see cref="FrameCodec.Reader"/>, and says whether bytes of a next frame are already in hand
/// (<see cref="HasBuffered"/>): a reader can then tell a lone request, which it may serve on
/// its own thread, from one with others queued behind it.
/// </summary>
public sealed class FrameReader(Stream stream)
{
    private readonly byte[] buffer = new byte[16 * 1024];
    private int start;
    private int end;

    /// <summary>Bytes after the last frame read were received already.</summary>
    public bool HasBuffered => end > start;

    /// <summary>Reads one frame; returns null on a clean end of stream before a frame starts.</summary>
    /// <exception cref="ProtocolException">The frame is too long, truncated, or does not parse.</exception>
    public async ValueTask<T?> ReadAsync<T>(MessageParser<T> parser, CancellationToken ct)
        where T : class, IMessage<T>
    {
        if (!await FillAsync(4, ct).ConfigureAwait(false))
        {
            if (end == start)
            {
                return null;
            }

            throw new ProtocolException("truncated frame header");
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(start, 4));
        if (length > FrameCodec.MaxFrameBytes)
        {
            throw new ProtocolException($"frame of {length} bytes exceeds the {FrameCodec.MaxFrameBytes}-byte limit");
        }

        start += 4;
        var body = new byte[length];
        var got = Math.Min(end - start, (int)length);
        buffer.AsSpan(start, got).CopyTo(body);
        start += got;
        while (got < body.Length)
        {
            // A body longer than what is buffered: the rest straight into it.
            var n = await stream.ReadAsync(body.AsMemory(got), ct).ConfigureAwait(false);
            if (n == 0)
            {
                throw new ProtocolException($"truncated frame: expected {length} bytes");
            }

            got += n;
        }

        return FrameCodec.Parse(body, parser);
    }

    /// <summary>Gets at least <paramref name="count"/> (≤ the buffer) bytes in hand; false at the end of the stream.</summary>
    private async ValueTask<bool> FillAsync(int count, CancellationToken ct)
    {
        if (end - start >= count)
        {
            return true;
        }

        if (start > 0)
        {
            buffer.AsSpan(start, end - start).CopyTo(buffer);
            end -= start;
            start = 0;
        }

        while (end < count)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(end), ct).ConfigureAwait(false);
            if (n == 0)
            {
                return false;
            }

            end += n;
        }

        return true;
    }
}
