using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Logs;

/// <summary>
/// One read from a <see cref="ProcessLog"/>: the records read (only the asked stream's) and their
/// bytes in order. <paramref name="NextOffset"/> is past every record looked at, kept or filtered out.
/// <paramref name="UntilReached"/>: the read stopped at a record past the asked time window's end.
/// </summary>
public sealed record LogChunk(IReadOnlyList<LogRecord> Records, long NextOffset, bool Complete, long FirstOffset, bool UntilReached = false)
{
    /// <summary>The records' bytes, concatenated in record order.</summary>
    public byte[] Data
    {
        get
        {
            var data = new byte[Records.Sum(r => r.Data.Length)];
            var at = 0;
            foreach (var r in Records)
            {
                r.Data.Span.CopyTo(data.AsSpan(at));
                at += r.Data.Length;
            }

            return data;
        }
    }
}
