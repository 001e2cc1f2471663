using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Nefele.Protocol.V1;
using Nefele.Tracing;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Resources;

namespace Nefele.HostAgent.Logs.Export;

/// <summary>
/// Sends each output record as an OTLP log record through OpenTelemetry's .NET logging pipeline:
/// a logger factory of its own (category <see cref="Category"/>, the record's instrumentation scope),
/// so hostd's diagnostics never mix in, and <see cref="OutputRecordProcessor"/> in front of the
/// library's batch processor and <see cref="OtlpLogExporter"/>. Body: the text; attributes:
/// <c>log.iostream</c>, <c>nefele.npid</c>, <c>nefele.tenant</c>, <c>nefele.node</c>,
/// <c>process.pid</c>, <c>nefele.name</c> (when named), <c>process.executable.name</c>; timestamp:
/// when hostd read it; trace and span: the process's spawn context (its TRACEPARENT).
/// </summary>
public sealed class OtlpLogExport : ILogExport
{
    /// <summary>The logger category, hence the OTLP instrumentation scope, of exported output.</summary>
    public const string Category = "Nefele.ProcessOutput";

    private readonly ILoggerFactory factory;
    private readonly ILogger logger;

    /// <param name="configure">Sets the resource (service.name and the node's attributes, as hostd's other telemetry).</param>
    /// <param name="variable">Reads the OTEL_EXPORTER_OTLP_LOGS_* variables (the environment, where the library reads the others).</param>
    public OtlpLogExport(int capacity, Action<ResourceBuilder> configure, Func<string, string?> variable)
    {
        var exporter = new OtlpLogExporter(ExporterOptions(variable));
        var resource = ResourceBuilder.CreateDefault();
        configure(resource);
        factory = LoggerFactory.Create(b => b.AddOpenTelemetry(o =>
        {
            o.SetResourceBuilder(resource);
            o.AddProcessor(new OutputRecordProcessor(exporter, capacity, Name));
        }));
        logger = factory.CreateLogger(Category);
    }

    public string Name => "otlp";

    public void Export(OutputOrigin origin, LogStream stream, long timeUnixNano, ReadOnlySpan<byte> data)
    {
        var state = new OutputRecordState(origin, stream, timeUnixNano, Encoding.UTF8.GetString(data));

        // Severity carries no meaning for a program's raw output (stderr is not an error stream
        // by itself): every record is Information, log.iostream says which stream it was.
        logger.Log(LogLevel.Information, default, state, null, static (s, _) => s.Text);
    }

    public ValueTask DisposeAsync()
    {
        // Flushes what the batch processor holds, within the exporter's timeout.
        factory.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// The exporter's settings: the library reads the general variables (OTEL_EXPORTER_OTLP_ENDPOINT,
    /// _PROTOCOL, _HEADERS, _TIMEOUT); a logs endpoint's own variables, when set, win, as the
    /// OpenTelemetry specification says.
    /// </summary>
    internal static OtlpExporterOptions ExporterOptions(Func<string, string?> variable)
    {
        var options = new OtlpExporterOptions();
        if (variable("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT") is { Length: > 0 } endpoint)
        {
            // A signal's own endpoint is used as given (no /v1/logs appended).
            options.Endpoint = new Uri(endpoint);
        }

        if (variable("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL") is { Length: > 0 } protocol)
        {
            options.Protocol = protocol switch
            {
                "grpc" => OtlpExportProtocol.Grpc,
                "http/protobuf" => OtlpExportProtocol.HttpProtobuf,
                _ => throw new HostAgentStartupException($"OTEL_EXPORTER_OTLP_LOGS_PROTOCOL '{protocol}' is not supported; allowed: grpc, http/protobuf"),
            };
        }

        if (variable("OTEL_EXPORTER_OTLP_LOGS_HEADERS") is { Length: > 0 } headers)
        {
            options.Headers = headers;
        }

        if (variable("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT") is { Length: > 0 } timeout && int.TryParse(timeout, out var ms) && ms > 0)
        {
            options.TimeoutMilliseconds = ms;
        }

        return options;
    }

    /// <summary>What <see cref="Export"/> hands the logger: the record's attributes, and what the processor sets on it.</summary>
    internal sealed class OutputRecordState : IReadOnlyList<KeyValuePair<string, object?>>
    {
        private readonly KeyValuePair<string, object?>[] attributes;

        public OutputRecordState(OutputOrigin origin, LogStream stream, long timeUnixNano, string text)
        {
            Origin = origin;
            TimeUnixNano = timeUnixNano;
            Text = text;
            var iostream = stream == LogStream.Stderr ? "stderr" : "stdout";
            attributes = origin.Name.Length > 0
                ?
                [
                    new(SpanAttributes.LogIostream, iostream), new(SpanAttributes.Npid, origin.Npid), new(SpanAttributes.Tenant, origin.Tenant),
                    new(SpanAttributes.Node, origin.Node), new(SpanAttributes.ProcessPid, origin.Pid),
                    new(SpanAttributes.ProcessExecutableName, origin.Executable), new(SpanAttributes.ProcessName, origin.Name),
                ]
                :
                [
                    new(SpanAttributes.LogIostream, iostream), new(SpanAttributes.Npid, origin.Npid), new(SpanAttributes.Tenant, origin.Tenant),
                    new(SpanAttributes.Node, origin.Node), new(SpanAttributes.ProcessPid, origin.Pid),
                    new(SpanAttributes.ProcessExecutableName, origin.Executable),
                ];
        }

        public OutputOrigin Origin { get; }

        public long TimeUnixNano { get; }

        public string Text { get; }

        public IReadOnlyList<KeyValuePair<string, object?>> Attributes => attributes;

        public int Count => attributes.Length;

        public KeyValuePair<string, object?> this[int index] => attributes[index];

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)attributes).GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => Text;
    }
}
