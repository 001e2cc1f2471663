using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Nefele.Silo.Telemetry;

/// <summary>
/// OpenTelemetry for the silo: Nefele's own meters and sources, plus ASP.NET Core's; and the
/// Prometheus scrape of Nefele's meters (<see cref="PrometheusMetrics"/>, served at /metrics).
/// </summary>
internal static class TelemetryExtensions
{
    /// <summary>Spans are exported (an OTLP endpoint is set for traces): only then are they made, and grain calls propagate them.</summary>
    public static bool TracesExported =>
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"))
        || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"));

    public static IServiceCollection AddNefeleTelemetry(this IServiceCollection services)
    {
        var telemetry = services.AddOpenTelemetry()
            .WithMetrics(m => m.AddMeter(Nefele.Telemetry.Name).AddMeter("Nefele.*").AddMeter("Microsoft.Orleans"));

        // Spans are made only when they go somewhere (OTEL_EXPORTER_OTLP_ENDPOINT): Nefele's, the
        // grain calls' (Orleans' activity propagation) and the REST requests' (W3C traceparent accepted).
        if (TracesExported)
        {
            telemetry
                .ConfigureResource(r => r.AddService(Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME") ?? "nefele-silo"))
                .WithTracing(t => t
                    .AddSource(Nefele.Telemetry.Name, "Nefele.*", "Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application", "Microsoft.AspNetCore"))
                .UseOtlpExporter();
        }

        // A hosted lifecycle service: it starts listening before any hosted service (the silo's) starts.
        services.AddSingleton<PrometheusMetrics>();
        services.AddHostedService(sp => sp.GetRequiredService<PrometheusMetrics>());
        return services;
    }
}
