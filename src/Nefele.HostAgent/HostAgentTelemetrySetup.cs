using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Nefele.HostAgent.Logs.Export;
using Nefele.Observability;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Nefele.HostAgent;

/// <summary>
/// OpenTelemetry for hostd, through its libraries: its meter (<see cref="HostAgentTelemetry"/>), runtime
/// and process instruments, scraped by Prometheus at <c>--metrics-listen</c> when given; and OTLP export
/// of metrics, traces and logs when the standard OTEL_EXPORTER_OTLP_* variables ask for it, as the silo.
/// </summary>
internal static class HostAgentTelemetrySetup
{
    public static void AddHostAgentTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        var settings = configuration.GetSection(HostAgentOptions.SectionName);
        var prefix = HostAgentOptions.MetricsPrefix(settings["MetricsListen"] ?? "");
        var otlp = TelemetryResource.OtlpConfigured(name => configuration[name]);
        if (prefix is null && !otlp)
        {
            // Nothing would read them: no provider, so no instrument costs anything on the spawn path.
            return;
        }

        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(Resource(configuration))
            .WithMetrics(m =>
            {
                m.AddMeter(HostAgentTelemetry.Name).AddRuntimeInstrumentation().AddProcessInstrumentation();
                if (prefix is not null)
                {
                    var uri = new Uri(prefix);
                    m.AddPrometheusHttpListener(o => (o.Host, o.Port) = (uri.Host, uri.Port));
                }
            });
        if (otlp)
        {
            telemetry.WithTracing(t => t.AddSource(HostAgentTelemetry.Name)).WithLogging().UseOtlpExporter();
        }
    }

    /// <summary>The node's log exports that the options ask for (<see cref="LogExports.None"/> without).</summary>
    /// <exception cref="HostAgentStartupException">The export file cannot be opened for appending.</exception>
    public static LogExports CreateLogExports(HostAgentOptions options, IConfiguration configuration, ILoggerFactory loggers)
    {
        var exports = new List<ILogExport>();
        if (options.LogExport == "otlp")
        {
            // The library reads the general OTEL_EXPORTER_OTLP_* variables from the environment; the logs
            // endpoint's own are read from there too, as the validator checks them.
            exports.Add(new OtlpLogExport(options.LogExportQueue, Resource(configuration), Environment.GetEnvironmentVariable));
        }

        if (options.LogExportFile.Length > 0)
        {
            try
            {
                exports.Add(new JsonLinesLogExport(options.LogExportFile, options.LogExportQueue, loggers.CreateLogger<JsonLinesLogExport>()));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new HostAgentStartupException($"{HostAgentOptions.SectionName}:LogExportFile (--log-export-file) {options.LogExportFile} cannot be opened for appending: {e.Message}");
            }
        }

        return exports.Count == 0 ? LogExports.None : new LogExports(exports);
    }

    /// <summary>hostd's resource: service.name (OTEL_SERVICE_NAME overrides it), the instance, the node, the role and the cluster.</summary>
    private static Action<ResourceBuilder> Resource(IConfiguration configuration) => r =>
    {
        var settings = configuration.GetSection(HostAgentOptions.SectionName);
        var node = settings["Node"] is { Length: > 0 } named ? named : System.Net.Dns.GetHostName();
        var clusterId = settings["ClusterId"];
        r.AddService(configuration["OTEL_SERVICE_NAME"] ?? TelemetryResource.HostdService, serviceInstanceId: $"{node}/hostd")
            .AddAttributes([new(TelemetryResource.NodeName, node), new(TelemetryResource.Role, "hostd")]);
        if (!string.IsNullOrEmpty(clusterId))
        {
            r.AddAttributes([new(TelemetryResource.ClusterId, clusterId)]);
        }
    };
}
