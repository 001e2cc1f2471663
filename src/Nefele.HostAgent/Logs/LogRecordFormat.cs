using System.Buffers.Binary;
using Google.Protobuf;
using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Logs;

/// <summary>
/// The on-disk form of a process log: a sequence of records, each a 24-byte little-endian header
/// followed by its bytes. Header: u32 length of the bytes, u8 stream (1 stdout, 2 stderr), u8
/// format version (1), u16 zero, i64 offset of the first byte among all the process wrote, i64
/// time hostd read it (ns since the Unix epoch). A file is only ever appended to, whole records
/// at a time, so it can be read while written and rotated between records; the offset in each
/// header lets a reader resume at any byte without repeating or skipping one.
/// </summary>
public static class LogRecordFormat
{
    public const int HeaderSize = 24;
    public const byte Version = 1;

    public static void WriteHeader(Span<byte> header, int length, LogStream stream, long offset, long timeUnixNano)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)length);
        header[4] = (byte)stream;
        header[5] = Version;
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 0);
        BinaryPrimitives.WriteInt64LittleEndian(header[8..], offset);
        BinaryPrimitives.WriteInt64LittleEndian(header[16..], timeUnixNano);
    }

    /// <summary>Reads a header; false when it is not one this version wrote (a torn or foreign file).</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> header, out int length, out LogStream stream, out long offset, out long timeUnixNano)
    {
        var raw = BinaryPrimitives.ReadUInt32LittleEndian(header);
        length = (int)Math.Min(raw, int.MaxValue);
        stream = (LogStream)header[4];
        offset = BinaryPrimitives.ReadInt64LittleEndian(header[8..]);
        timeUnixNano = BinaryPrimitives.ReadInt64LittleEndian(header[16..]);
        return header[5] == Version && stream is LogStream.Stdout or LogStream.Stderr && raw <= int.MaxValue && offset >= 0;
    }

    /// <summary>Every whole record of a log file, in order (a torn last record is left out).</summary>
    public static IEnumerable<LogRecord> ReadFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var header = new byte[HeaderSize];
        while (stream.ReadAtLeast(header, HeaderSize, throwOnEndOfStream: false) == HeaderSize)
        {
            if (!TryReadHeader(header, out var length, out var kind, out var offset, out var time))
            {
                throw new InvalidDataException($"{path}: no log record at byte {stream.Position - HeaderSize}");
            }

            var data = new byte[length];
            if (stream.ReadAtLeast(data, length, throwOnEndOfStream: false) < length)
            {
                yield break;
            }

            yield return new LogRecord { Offset = offset, Stream = kind, TimeUnixNano = time, Data = UnsafeByteOperations.UnsafeWrap(data) };
        }
    }
}
