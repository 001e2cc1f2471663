using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Logs.Export;

/// <summary>
/// Appends each output record to a file as one JSON object a line, for a log shipper (Vector,
/// Fluent Bit, Promtail) to tail: <c>{"time":"…Z","node":…,"tenant":…,"npid":…,"name":…,"pid":…,"stream":"stdout","text":…}</c>,
/// time in RFC 3339 UTC with nanoseconds. Records wait in a bounded queue and one writer appends
/// them in batches; a full queue or a failed write drops records (counted), never the process.
/// The file is reopened on SIGHUP and when its path no longer names the open file (logrotate
/// moved it), so both <c>postrotate kill -HUP</c> and a plain <c>create</c> rotation work.
/// </summary>
public sealed class JsonLinesLogExport : ILogExport
{
    // Records written per batch, so that a reopen or a failure is noticed between batches.
    private const int BatchRecords = 1024;

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // A file for log shippers, never HTML: non-ASCII text is kept readable.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly string path;
    private readonly ILogger logger;
    private readonly Channel<Entry> queue;
    private readonly PosixSignalRegistration hangup;
    private readonly Task writer;
    private readonly ArrayBufferWriter<byte> buffer = new(64 * 1024);
    private FileStream? file;
    private long queuedBytes;
    private volatile bool reopen;
    private bool failing;

    /// <exception cref="IOException">The file cannot be opened for appending (the message names it).</exception>
    /// <exception cref="UnauthorizedAccessException">hostd may not write it.</exception>
    public JsonLinesLogExport(string path, int capacity, ILogger logger)
    {
        this.path = path;
        this.logger = logger;
        queue = Channel.CreateBounded<Entry>(
            new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true },
            entry =>
            {
                Interlocked.Add(ref queuedBytes, -entry.Text.Length);
                Dropped(1);
            });

        // At start-up a file hostd cannot write stops it with the reason; later failures only drop records.
        file = Open(path);
        hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            reopen = true;
        });
        writer = Task.Run(WriteLoopAsync);
    }

    public string Name => "jsonl";

    public void Export(OutputOrigin origin, LogStream stream, long timeUnixNano, ReadOnlySpan<byte> data)
    {
        // Counted in UTF-8 bytes as they arrive (the text is about as long).
        if (Interlocked.Add(ref queuedBytes, data.Length) > LogExports.MaxQueuedBytes)
        {
            Interlocked.Add(ref queuedBytes, -data.Length);
            Dropped(1);
            return;
        }

        var text = Encoding.UTF8.GetString(data);
        Interlocked.Add(ref queuedBytes, text.Length - data.Length);
        queue.Writer.TryWrite(new Entry(origin, stream, timeUnixNano, text));
    }

    public async ValueTask DisposeAsync()
    {
        hangup.Dispose();
        queue.Writer.TryComplete();
        await writer;
        file?.Dispose();
    }

    private static FileStream Open(string path) => new(path, new FileStreamOptions
    {
        Mode = FileMode.Append,
        Access = FileAccess.Write,
        Share = FileShare.ReadWrite | FileShare.Delete,
        BufferSize = 0,

        // Output is the tenants' own: readable by root and hostd's group only.
        UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead,
    });

    private async Task WriteLoopAsync()
    {
        while (await queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            buffer.ResetWrittenCount();
            var count = 0;
            using (var json = new Utf8JsonWriter(buffer, WriterOptions))
            {
                while (count < BatchRecords && queue.Reader.TryRead(out var entry))
                {
                    Interlocked.Add(ref queuedBytes, -entry.Text.Length);
                    Write(json, entry);
                    json.Flush();
                    json.Reset();
                    buffer.Write("\n"u8);
                    count++;
                }
            }

            Append(count);
        }
    }

    private void Append(int count)
    {
        try
        {
            if (reopen || Moved())
            {
                reopen = false;
                file?.Dispose();
                file = null;
            }

            file ??= Open(path);
            file.Write(buffer.WrittenSpan);
            if (failing)
            {
                failing = false;
                logger.LogInformation("Writing process output to {Path} again", path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Dropped(count);
            file?.Dispose();
            file = null;
            if (!failing)
            {
                // Once per failure, not per batch: the records are counted as dropped meanwhile.
                failing = true;
                logger.LogWarning(e, "Cannot write process output to {Path}; dropping records until it can be written", path);
            }
        }
    }

    private void Dropped(int count) =>
        HostAgentTelemetry.LogExportDropped.Add(count, new KeyValuePair<string, object?>(Nefele.Observability.Instruments.Attributes.Exporter, Name));

    /// <summary>
    /// True when the open file is no longer at <see cref="path"/> (moved or deleted). One readlink per
    /// batch, not per record; checked before writing, so a batch never goes to a file already rotated.
    /// </summary>
    private bool Moved()
    {
        if (file is null)
        {
            return false;
        }

        var fd = file.SafeFileHandle.DangerousGetHandle().ToInt32();
        try
        {
            var target = File.ResolveLinkTarget($"/proc/self/fd/{fd}", returnFinalTarget: false)?.FullName;
            return target is not null && !string.Equals(target, Path.GetFullPath(path), StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static void Write(Utf8JsonWriter json, in Entry e)
    {
        json.WriteStartObject();
        json.WriteString("time"u8, Nefele.Validation.LogFilters.FormatTime(e.TimeUnixNano));
        json.WriteString("node"u8, e.Origin.Node);
        json.WriteString("tenant"u8, e.Origin.Tenant);
        json.WriteString("npid"u8, e.Origin.Npid);
        json.WriteString("name"u8, e.Origin.Name);
        json.WriteNumber("pid"u8, e.Origin.Pid);
        json.WriteString("stream"u8, e.Stream == LogStream.Stderr ? "stderr"u8 : "stdout"u8);
        json.WriteString("text"u8, e.Text);
        json.WriteEndObject();
    }

    [StructLayout(LayoutKind.Auto)]
    private readonly record struct Entry(OutputOrigin Origin, LogStream Stream, long TimeUnixNano, string Text);
}
