using System.Buffers;
using System.Text;

namespace Nefele.HostAgent.Logs;

/// <summary>
/// The output (stdout and stderr interleaved) of one process, kept in
/// <c>&lt;npid&gt;.log</c> and <c>&lt;npid&gt;.log.1</c>. Offsets count every byte the process
/// ever wrote, so they stay valid across rotation; when the kept bytes would exceed the
/// limit, the older half is dropped and <see cref="FirstOffset"/> moves forward.
/// </summary>
public sealed class ProcessLog
{
    private readonly object gate = new();
    private readonly string directory;
    private readonly string current;
    private readonly string previous;
    private readonly long halfLimit;
    // Continuations run on the reader as it ends (its last act), so an exit waiting for the
    // output's end is reported without another thread-pool hop.
    private readonly TaskCompletionSource drained = new();
    private FileStream? writer;
    private long previousStart; // offset of the first byte in .log.1 (== currentStart when there is none)
    private long currentStart;
    private long end;
    private bool ended;
    private bool deleted;
    private TaskCompletionSource changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ProcessLog(string directory, string npid, long limitBytes)
    {
        this.directory = directory;
        current = Path.Combine(directory, npid + ".log");
        previous = current + ".1";
        halfLimit = Math.Max(1, limitBytes / 2);

        // The file is made with the first output: many processes write nothing, and a launch
        // should not wait for file creation.
    }

    public string FilePath => current;

    public long FirstOffset
    {
        get
        {
            lock (gate)
            {
                return previousStart;
            }
        }
    }

    /// <summary>Completes when the pipe reached end of file (every writer closed it).</summary>
    public Task Drained => drained.Task;

    /// <summary>Drains <paramref name="output"/> (the process's stdout/stderr) until every writer has closed it.</summary>
    public void StartReader(Stream output) => _ = DrainAsync(output);

    public void Append(ReadOnlySpan<byte> data)
    {
        lock (gate)
        {
            if (deleted)
            {
                return;
            }

            if (writer is null)
            {
                Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                writer = OpenForWriting(current, append: end > currentStart);
            }

            while (!data.IsEmpty)
            {
                var room = (int)Math.Min(data.Length, currentStart + halfLimit - end);
                if (room <= 0)
                {
                    Rotate();
                    continue;
                }

                writer.Write(data[..room]);
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
    /// was dropped). When nothing is there yet and the process still runs, waits up to
    /// <paramref name="wait"/> for output or the end.
    /// </summary>
    public async Task<LogChunk> ReadAsync(long offset, int maxBytes, TimeSpan wait, CancellationToken ct)
    {
        maxBytes = maxBytes <= 0 ? 64 * 1024 : Math.Min(maxBytes, 1024 * 1024);
        var deadline = Environment.TickCount64 + (long)wait.TotalMilliseconds;
        while (true)
        {
            Task waitFor;
            lock (gate)
            {
                var chunk = ReadLocked(offset, maxBytes);
                if (chunk.Data.Length > 0 || chunk.Complete || wait <= TimeSpan.Zero)
                {
                    return chunk;
                }

                waitFor = changed.Task;
            }

            var left = TimeSpan.FromMilliseconds(deadline - Environment.TickCount64);
            if (left <= TimeSpan.Zero)
            {
                lock (gate)
                {
                    return ReadLocked(offset, maxBytes);
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
            var from = Math.Max(previousStart, end - 4096);
            chunk = ReadLocked(from, 4096);
        }

        var text = Encoding.UTF8.GetString(chunk.Data);
        var line = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "";
        return line.Length > 200 ? line[..200] : line;
    }

    /// <summary>Removes the files; later output is drained and discarded so writers never get SIGPIPE.</summary>
    public void Delete()
    {
        lock (gate)
        {
            deleted = true;
            writer?.Dispose();
            writer = null;
            File.Delete(current);
            File.Delete(previous);
            ended = true;
            Signal();
        }
    }

    private LogChunk ReadLocked(long offset, int maxBytes)
    {
        offset = Math.Clamp(offset, previousStart, end);
        var data = Array.Empty<byte>();
        if (offset < end && !deleted)
        {
            // A read never crosses from .log.1 into .log; the caller asks again from next_offset.
            var (file, fileStart, fileEnd) = offset < currentStart
                ? (previous, previousStart, currentStart)
                : (current, currentStart, end);
            var count = (int)Math.Min(maxBytes, fileEnd - offset);
            data = new byte[count];
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            stream.Seek(offset - fileStart, SeekOrigin.Begin);
            stream.ReadExactly(data);
        }

        var next = offset + data.Length;
        return new LogChunk(data, next, ended && next >= end, previousStart);
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
            BufferSize = 1,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        File.SetUnixFileMode(stream.SafeFileHandle, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return stream;
    }

    private void Rotate()
    {
        writer!.Dispose();
        File.Move(current, previous, overwrite: true);
        previousStart = currentStart;
        currentStart = end;
        writer = OpenForWriting(current);
    }

    private void Signal()
    {
        var old = changed;
        changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        old.TrySetResult();
    }

    private async Task DrainAsync(Stream output)
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
                    Append(buffer.AsSpan(0, n));
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The read end failed; nothing more can be captured.
        }
        finally
        {
            // Every writer has closed the pipe, so no more output can come: the file is not held
            // open for as long as the log is kept (a node keeps the logs of many ended processes).
            lock (gate)
            {
                writer?.Dispose();
                writer = null;
            }

            ArrayPool<byte>.Shared.Return(buffer);
            drained.TrySetResult();
        }
    }
}
