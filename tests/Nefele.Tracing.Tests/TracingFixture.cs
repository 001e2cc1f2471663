using Nefele.Client;
using Nefele.EndToEnd.Tests;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Nefele.Tracing.Tests;

/// <summary>
/// A real OTLP receiver; a node of its own (own ports, run directory and node name) whose silo and
/// hostd export their spans to it through the standard OTEL_EXPORTER_OTLP_* variables, and whose
/// hostd exports its processes' output there too (<c>--log-export otlp</c>); and this
/// test program traced as a user's program would be (the SDK's source and Orleans' call sources).
/// </summary>
public sealed class TracingFixture : IAsyncLifetime
{
    /// <summary>The service name of this test program's spans.</summary>
    public const string TestService = "nefele-tracing-tests";

    private TracerProvider? _provider;

    public OtlpReceiver Receiver { get; private set; } = null!;

    public NodeUnderTest Node { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Receiver = await OtlpReceiver.StartAsync();
        Node = await NodeUnderTest.StartAsync("trace-" + Guid.NewGuid().ToString("N")[..6], ["--log-export", "otlp"], [], new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = Receiver.Endpoint.ToString(),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            // Batches leave every 100 ms instead of every 5 s, so the test waits less for them.
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
            ["OTEL_BLRP_SCHEDULE_DELAY"] = "100",
        });

        // Each span is exported as it ends (simple processor): no batch to wait for on this side.
        _provider = Sdk.CreateTracerProviderBuilder()
            .ConfigureResource(r => r.AddService(TestService))
            .AddSource(NefeleTelemetry.ActivitySourceName, "Microsoft.Orleans.Application", "Microsoft.Orleans.Runtime")
            .AddOtlpExporter(o =>
            {
                o.Endpoint = new Uri(Receiver.Endpoint, "v1/traces");
                o.Protocol = OtlpExportProtocol.HttpProtobuf;
                o.ExportProcessorType = ExportProcessorType.Simple;
            })
            .Build();
    }

    public async Task DisposeAsync()
    {
        _provider?.Dispose();
        if (Node is not null)
        {
            await Node.DisposeAsync();
        }

        if (Receiver is not null)
        {
            await Receiver.DisposeAsync();
        }
    }
}
