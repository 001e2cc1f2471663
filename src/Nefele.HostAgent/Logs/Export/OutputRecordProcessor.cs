using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Logs;
using Nefele.Observability;

namespace Nefele.HostAgent.Logs.Export;

/// <summary>
/// Makes each output record what it stands for (its time, its process's trace context, its text as
/// the body) and hands it to the library's <see cref="BatchLogRecordExportProcessor"/>, whose queue
/// holds <c>capacity</c> records. The batch processor drops silently when its queue is full, so
/// records in flight are counted here (handed over, less exported) and a record that would not fit
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
    private long inFlight;

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

        if (Interlocked.Increment(ref inFlight) > capacity)
        {
            Interlocked.Decrement(ref inFlight);
            HostAgentTelemetry.LogExportDropped.Add(1, exporterTag);
            return;
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
                Interlocked.Add(ref owner.inFlight, -count);
            }
        }

        protected override bool OnShutdown(int timeoutMilliseconds) => inner.Shutdown(timeoutMilliseconds);
    }
}
