using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Nefele.Silo.Telemetry;

/// <summary>
/// OpenTelemetry for the silo: Nefele's own meters and sources, plus ASP.NET Core's; and the
/// Prometheus scrape of Nefele's meters (<see cref="PrometheusMetrics"/>, served at /metrics).
/// </summary>
internal static class TelemetryExtensions
{
    public static IServiceCollection AddNefeleTelemetry(this IServiceCollection services)
    {
        services.AddOpenTelemetry()
            .WithMetrics(m => m.AddMeter(Nefele.Telemetry.Name).AddMeter("Nefele.*").AddMeter("Microsoft.Orleans"))
            .WithTracing(t => t.AddSource(Nefele.Telemetry.Name).AddSource("Nefele.*"));

        // A hosted lifecycle service: it starts listening before any hosted service (the silo's) starts.
        services.AddSingleton<PrometheusMetrics>();
        services.AddHostedService(sp => sp.GetRequiredService<PrometheusMetrics>());
        return services;
    }
}
