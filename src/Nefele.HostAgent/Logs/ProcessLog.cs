using System.Buffers;
using System.Text;
using Google.Protobuf;
using Nefele.HostAgent.Logs.Export;
using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Logs;

/// <summary>
/// The output of one process, stdout and stderr kept apart as timestamped records
/// (<see cref="LogRecordFormat"/>) in <c>&lt;npid&gt;.log</c> and <c>&lt;npid&gt;.log.1</c>.
/// Offsets count every byte the process ever wrote on either stream, in record order, so they
/// stay valid across rotation; when the file would exceed half the limit it becomes
/// <c>.log.1</c> (dropping the older one) and <see cref="FirstOffset"/> moves forward.
/// Each record is also handed to the node's log exports, when it has any.
/// </summary>
public sealed class ProcessLog
{
    // One index entry per this many file bytes: a read seeks to the nearest one and walks headers.
    private const long IndexStep = 16 * 1024;
    private const int MinHalfLimit = 256;

    private readonly object gate = new();
    private readonly string directory;
    private readonly long halfLimit;
    // Continuations run on the reader as it ends (its last act), so an exit waiting for the
    // output's end is reported without another thread-pool hop.
    private readonly TaskCompletionSource drained = new();
    private readonly byte[] header = new byte[LogRecordFormat.HeaderSize];
    private readonly LogExports? exports;
    private readonly OutputOrigin? origin;
    private LogFile current;
    private LogFile previous;
    private FileStream? writer;
    private long end;
    private long lastTime;
    private int readers;
    private bool ended;
    private bool deleted;
    private TaskCompletionSource changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <param name="exports">Where each record is sent as well; null or empty: nowhere.</param>
    /// <param name="origin">Whose output it is, for the exports; required with them.</param>
    public ProcessLog(string directory, string npid, long limitBytes, LogExports? exports = null, OutputOrigin? origin = null)
    {
        if (exports is { Any: true } && origin is not null)
        {
            this.exports = exports;
            this.origin = origin;
        }

        this.directory = directory;
        var path = Path.Combine(directory, npid + ".log");
        current = new LogFile(path, 0);
        previous = new LogFile(path + ".1", 0);
        halfLimit = Math.Max(MinHalfLimit, limitBytes / 2);

        // The file is made with the first output: many processes write nothing, and a launch
        // should not wait for file creation.
    }

    public string FilePath => current.Path;

    /// <summary>Oldest offset still kept.</summary>
    public long FirstOffset
    {
        get
        {
            lock (gate)
            {
                return previous.Start;
            }
        }
    }

    /// <summary>Offset past the last byte written.</summary>
    public long EndOffset
    {
        get
        {
            lock (gate)
            {
                return end;
            }
        }
    }

    /// <summary>Completes when every output stream reached end of file (every writer closed it).</summary>
    public Task Drained => drained.Task;

    /// <summary>
    /// Drains the process's output until every writer has closed it: <paramref name="stdout"/>,
    /// and <paramref name="stderr"/> when the process has a separate one (without, everything on
    /// <paramref name="stdout"/> is recorded as stdout, as a terminal's output is).
    /// </summary>
    public void StartReader(Stream stdout, Stream? stderr = null)
    {
        lock (gate)
        {
            readers += stderr is null ? 1 : 2;
        }

        _ = DrainAsync(stdout, LogStream.Stdout);
        if (stderr is not null)
        {
            _ = DrainAsync(stderr, LogStream.Stderr);
        }
    }

    /// <summary>Appends output read from stdout.</summary>
    public void Append(ReadOnlySpan<byte> data) => Append(LogStream.Stdout, data);

    /// <summary>Appends output read now from <paramref name="stream"/> as one record (or several, past the file bound).</summary>
    public void Append(LogStream stream, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        lock (gate)
        {
            if (deleted)
            {
                return;
            }

            // Records are in file order and their times never go back, so a merge by time
            // keeps each process's own order even when the clock steps back.
            var now = (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;
            lastTime = Math.Max(lastTime, now);

            if (writer is null)
            {
                Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                writer = OpenForWriting(current.Path, append: current.Bytes > 0);
            }

            while (!data.IsEmpty)
            {
                // A record is split only when it would not fit even a fresh file.
                var room = (int)Math.Min(data.Length, halfLimit - current.Bytes - LogRecordFormat.HeaderSize);
                if (room < data.Length && current.Bytes > 0)
                {
                    Rotate();
                    continue;
                }

                if (current.Index.Count == 0 || current.Bytes - current.Index[^1].Position >= IndexStep)
                {
                    current.Index.Add((end, current.Bytes));
                }

                LogRecordFormat.WriteHeader(header, room, stream, end, lastTime);
                writer.Write(header);
                writer.Write(data[..room]);
                exports?.Export(origin!, stream, lastTime, data[..room]);
                current.Bytes += LogRecordFormat.HeaderSize + room;
                end += room;
                data = data[room..];
            }

            writer.Flush();
            Signal();
        }
    }

    /// <summary>The process has ended: readers at the end get complete=true instead of waiting.</summary>
    public void MarkEnded()
    {
        lock (gate)
        {
            ended = true;
            Signal();
        }
    }

    /// <summary>
    /// Reads from <paramref name="offset"/> (moved up to <see cref="FirstOffset"/> if older output
    /// was dropped) up to about <paramref name="maxBytes"/> of <paramref name="stream"/>'s output
    /// (<see cref="LogStream.Unspecified"/>: both). When nothing is there yet and the process
    /// still runs, waits up to <paramref name="wait"/> for output or the end.
    /// </summary>
    public async Task<LogChunk> ReadAsync(long offset, int maxBytes, TimeSpan wait, CancellationToken ct, LogStream stream = LogStream.Unspecified)
    {
        maxBytes = maxBytes <= 0 ? 64 * 1024 : Math.Min(maxBytes, 1024 * 1024);
        var deadline = Environment.TickCount64 + (long)wait.TotalMilliseconds;
        while (true)
        {
            Task waitFor;
            lock (gate)
            {
                var chunk = ReadLocked(offset, maxBytes, stream);
                while (chunk.Records.Count == 0 && !chunk.Complete && chunk.NextOffset < end)
                {
                    // Only the other stream's records were read: look past them.
                    chunk = ReadLocked(chunk.NextOffset, maxBytes, stream);
                }

                if (chunk.Records.Count > 0 || chunk.Complete || wait <= TimeSpan.Zero)
                {
                    return chunk;
                }

                offset = chunk.NextOffset;
                waitFor = changed.Task;
            }

            var left = TimeSpan.FromMilliseconds(deadline - Environment.TickCount64);
            if (left <= TimeSpan.Zero)
            {
                lock (gate)
                {
                    return ReadLocked(offset, maxBytes, stream);
                }
            }

            try
            {
                await waitFor.WaitAsync(left, ct);
            }
            catch (TimeoutException)
            {
            }
        }
    }

    /// <summary>The last non-empty line of output (for failure reasons), at most 200 characters.</summary>
    public string LastLine()
    {
        LogChunk chunk;
        lock (gate)
        {
            var from = Math.Max(previous.Start, end - 4096);
            var text = new List<byte>();
            while (true)
            {
                chunk = ReadLocked(from, 4096, LogStream.Unspecified);
                text.AddRange(chunk.Data);
                if (chunk.NextOffset >= end || chunk.NextOffset == from)
                {
                    break;
                }

                from = chunk.NextOffset;
            }

            var line = Encoding.UTF8.GetString([.. text]).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "";
            return line.Length > 200 ? line[..200] : line;
        }
    }

    /// <summary>Removes the files; later output is drained and discarded so writers never get SIGPIPE.</summary>
    public void Delete()
    {
        lock (gate)
        {
            deleted = true;
            writer?.Dispose();
            writer = null;
            File.Delete(current.Path);
            File.Delete(previous.Path);
            ended = true;
            Signal();
        }
    }

    private LogChunk ReadLocked(long offset, int maxBytes, LogStream wanted)
    {
        offset = Math.Clamp(offset, previous.Start, end);
        var records = new List<LogRecord>();
        if (offset < end && !deleted)
        {
            // A read never crosses from .log.1 into .log; the caller asks again from next_offset.
            var file = offset < current.Start ? previous : current;
            offset = ReadFile(file, offset, maxBytes, wanted, records);
        }

        return new LogChunk(records, offset, ended && offset >= end, previous.Start);
    }

    /// <summary>Collects records from <paramref name="file"/> at <paramref name="offset"/>; returns the offset read up to.</summary>
    private static long ReadFile(LogFile file, long offset, int maxBytes, LogStream wanted, List<LogRecord> records)
    {
        var at = file.Index.Count - 1;
        while (at > 0 && file.Index[at].Offset > offset)
        {
            at--;
        }

        var position = file.Index.Count > 0 ? file.Index[at].Position : 0;
        using var stream = new FileStream(file.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 16 * 1024);
        stream.Seek(position, SeekOrigin.Begin);
        Span<byte> header = stackalloc byte[LogRecordFormat.HeaderSize];
        var taken = 0;
        while (position + LogRecordFormat.HeaderSize <= file.Bytes && taken < maxBytes)
        {
            stream.ReadExactly(header);
            if (!LogRecordFormat.TryReadHeader(header, out var length, out var kind, out var start, out var time))
            {
                throw new InvalidDataException($"{file.Path}: no log record at byte {position}");
            }

            position += LogRecordFormat.HeaderSize + length;
            var recordEnd = start + length;
            if (recordEnd <= offset || (wanted != LogStream.Unspecified && kind != wanted))
            {
                stream.Seek(length, SeekOrigin.Current);
                offset = Math.Max(offset, recordEnd);
                continue;
            }

            var skip = (int)(offset - start);
            var count = Math.Min(length - skip, maxBytes - taken);
            var data = new byte[count];
            stream.Seek(skip, SeekOrigin.Current);
            stream.ReadExactly(data);
            records.Add(new LogRecord { Offset = offset, Stream = kind, TimeUnixNano = time, Data = UnsafeByteOperations.UnsafeWrap(data) });
            taken += count;
            offset += count;
            if (offset < recordEnd)
            {
                break;
            }
        }

        return offset;
    }

    /// <summary>
    /// A process's output is its tenant's alone: the file is hostd's (root's), mode 0600, in a
    /// directory only root can list; even a file left by an earlier hostd gets that mode back.
    /// </summary>
    private static FileStream OpenForWriting(string path, bool append = false)
    {
        var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = append ? FileMode.Append : FileMode.Create,
            Access = FileAccess.Write,
            Share = FileShare.ReadWrite | FileShare.Delete,
            BufferSize = 64,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        File.SetUnixFileMode(stream.SafeFileHandle, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return stream;
    }

    private void Rotate()
    {
        writer!.Dispose();
        File.Move(current.Path, previous.Path, overwrite: true);
        previous = current with { Path = previous.Path };
        current = new LogFile(current.Path, end);
        writer = OpenForWriting(current.Path);
    }

    private void Signal()
    {
        var old = changed;
        changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        old.TrySetResult();
    }

    private async Task DrainAsync(Stream output, LogStream kind)
    {
        // Pooled: a node spawns hundreds of processes a second, most of which write little or nothing.
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            await using (output)
            {
                int n;
                while ((n = await output.ReadAsync(buffer)) > 0)
                {
                    Append(kind, buffer.AsSpan(0, n));
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The read end failed; nothing more can be captured.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            bool last;
            lock (gate)
            {
                last = --readers == 0;
                if (last)
                {
                    // Every writer has closed every stream, so no more output can come: the file is
                    // not held open for as long as the log is kept (a node keeps many ended logs).
                    writer?.Dispose();
                    writer = null;
                }
            }

            if (last)
            {
                drained.TrySetResult();
            }
        }
    }

    /// <summary>One of the two files: where it starts among all output, its size, and a sparse index of record positions.</summary>
    private sealed record LogFile(string Path, long Start)
    {
        public long Bytes { get; set; }

        public List<(long Offset, long Position)> Index { get; init; } = [];
    }
}
