using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Nefele.Silo.Telemetry;

/// <summary>OpenTelemetry for the silo: Nefele's own meters and sources, plus ASP.NET Core's.</summary>
internal static class TelemetryExtensions
{
    public const string Name = "Nefele.Silo";

    public static IServiceCollection AddNefeleTelemetry(this IServiceCollection services)
    {
        services.AddOpenTelemetry()
            .WithMetrics(m => m.AddMeter(Nefele.Telemetry.Name).AddMeter("Nefele.*").AddMeter("Microsoft.Orleans"))
            .WithTracing(t => t.AddSource(Nefele.Telemetry.Name).AddSource("Nefele.*"));
        return services;
    }
}
