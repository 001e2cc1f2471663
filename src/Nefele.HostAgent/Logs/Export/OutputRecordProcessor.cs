using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Logs;
using Nefele.Observability;

namespace Nefele.HostAgent.Logs.Export;

/// <summary>
/// Makes each output record what it stands for (its time, its process's trace context, its text as
/// the body) and hands it to the library's <see cref="BatchLogRecordExportProcessor"/>, whose queue
/// holds <c>capacity</c> records. The batch processor drops silently when its queue is full, so
/// records in flight are counted here (handed over, less exported), with their text's length, and a
/// record that would pass either bound (<c>capacity</c> records, <see cref="LogExports.MaxQueuedBytes"/>)
/// is dropped here instead, counted in <c>nefele.hostd.log_export.dropped</c>.
/// </summary>
/// <remarks>
/// It is an export processor of the OTLP exporter itself so that the provider gives that exporter
/// its resource (service.name, the node); the batch processor it feeds exports through
/// <see cref="CountingExporter"/>, which forwards to the same exporter.
/// </remarks>
internal sealed class OutputRecordProcessor : BaseExportProcessor<LogRecord>
{
    // Batches leave at least this often unless OTEL_BLRP_SCHEDULE_DELAY says otherwise: output is
    // wanted in the store soon, sooner than the specification's 5 s default for logs.
    private const int DefaultDelayMs = 1000;
    private const int MaxBatch = 512;

    private readonly BatchLogRecordExportProcessor batch;
    private readonly int capacity;
    private readonly KeyValuePair<string, object?> exporterTag;
    // Each record's length in the order handed over, which is the order the batch processor
    // exports them in: an export of n records takes the first n lengths off.
    private readonly Queue<int> lengths = new();
    private long inFlight;
    private long inFlightBytes;

    public OutputRecordProcessor(BaseExporter<LogRecord> exporter, int capacity, string name)
        : base(exporter)
    {
        this.capacity = capacity;
        exporterTag = new(Instruments.Attributes.Exporter, name);
        var delay = int.TryParse(Environment.GetEnvironmentVariable("OTEL_BLRP_SCHEDULE_DELAY"), out var ms) && ms > 0 ? ms : DefaultDelayMs;
        batch = new BatchLogRecordExportProcessor(new CountingExporter(this, exporter), capacity, delay, 30_000, Math.Min(MaxBatch, capacity));
    }

    protected override void OnExport(LogRecord data)
    {
        if (data.Attributes is not OtlpLogExport.OutputRecordState state)
        {
            return;
        }

        lock (lengths)
        {
            if (inFlight >= capacity || inFlightBytes + state.Text.Length > LogExports.MaxQueuedBytes)
            {
                HostAgentTelemetry.LogExportDropped.Add(1, exporterTag);
                return;
            }

            inFlight++;
            inFlightBytes += state.Text.Length;
            lengths.Enqueue(state.Text.Length);
        }

        var time = DateTime.UnixEpoch.AddTicks(state.TimeUnixNano / 100);
        data.Timestamp = time;
        data.Body = state.Text;
        data.Attributes = state.Attributes;
        if (state.Origin.Trace != default)
        {
            data.TraceId = state.Origin.Trace.TraceId;
            data.SpanId = state.Origin.Trace.SpanId;
            data.TraceFlags = state.Origin.Trace.TraceFlags;
        }
        else
        {
            // Not the context of whatever hostd code happened to read the output.
            data.TraceId = default;
            data.SpanId = default;
            data.TraceFlags = ActivityTraceFlags.None;
        }

        batch.OnEnd(data);
    }

    protected override bool OnForceFlush(int timeoutMilliseconds) => batch.ForceFlush(timeoutMilliseconds);

    private void Exported(long count)
    {
        lock (lengths)
        {
            for (var i = 0; i < count && lengths.TryDequeue(out var length); i++)
            {
                inFlight--;
                inFlightBytes -= length;
            }
        }
    }

    protected override bool OnShutdown(int timeoutMilliseconds) => batch.Shutdown(timeoutMilliseconds);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            batch.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>Forwards batches to the OTLP exporter and counts them out of flight once sent (or failed).</summary>
    private sealed class CountingExporter(OutputRecordProcessor owner, BaseExporter<LogRecord> inner) : BaseExporter<LogRecord>
    {
        public override ExportResult Export(in Batch<LogRecord> batch)
        {
            // Read before the export: a batch counts what is left to take, and the export takes all.
            var count = batch.Count;
            try
            {
                return inner.Export(batch);
            }
            finally
            {
                // Now the batch processor has taken these records out of its queue.
                owner.Exported(count);
            }
        }

        protected override bool OnShutdown(int timeoutMilliseconds) => inner.Shutdown(timeoutMilliseconds);
    }
}
