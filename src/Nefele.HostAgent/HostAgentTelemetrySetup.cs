using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
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
        var node = settings["Node"] is { Length: > 0 } named ? named : System.Net.Dns.GetHostName();
        var clusterId = settings["ClusterId"];
        var prefix = HostAgentOptions.MetricsPrefix(settings["MetricsListen"] ?? "");
        var otlp = TelemetryResource.OtlpConfigured(name => configuration[name]);
        if (prefix is null && !otlp)
        {
            // Nothing would read them: no provider, so no instrument costs anything on the spawn path.
            return;
        }

        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(r =>
            {
                r.AddService(configuration["OTEL_SERVICE_NAME"] ?? TelemetryResource.HostdService, serviceInstanceId: $"{node}/hostd")
                    .AddAttributes([new(TelemetryResource.NodeName, node), new(TelemetryResource.Role, "hostd")]);
                if (!string.IsNullOrEmpty(clusterId))
                {
                    r.AddAttributes([new(TelemetryResource.ClusterId, clusterId)]);
                }
            })
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
}
