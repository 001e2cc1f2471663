using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Nefele.HostAgent;

/// <summary>
/// hostd's spans exported over OTLP when the standard OTEL_EXPORTER_OTLP_ENDPOINT (or
/// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) variable is set, as service "nefele-hostd"
/// (OTEL_SERVICE_NAME overrides it); otherwise nothing listens and no span is made.
/// </summary>
internal static class HostAgentTracing
{
    public const string ServiceName = "nefele-hostd";

    public static IServiceCollection AddHostAgentTracing(this IServiceCollection services, IConfiguration configuration)
    {
        if (string.IsNullOrEmpty(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]) && string.IsNullOrEmpty(configuration["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]))
        {
            return services;
        }

        services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(configuration["OTEL_SERVICE_NAME"] ?? ServiceName))
            .WithTracing(t => t.AddSource(HostAgentTelemetry.Name))
            .UseOtlpExporter();
        return services;
    }
}
