using Microsoft.AspNetCore.Http.Metadata;
using Nefele.Observability;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Nefele.Silo.Telemetry;

/// <summary>
/// OpenTelemetry for the silo, through its libraries: Nefele's meters, Orleans' meter, ASP.NET Core,
/// runtime and process instrumentation, scraped by Prometheus at /metrics; and OTLP export of
/// metrics, traces and logs when the standard OTEL_EXPORTER_OTLP_* variables ask for it.
/// </summary>
internal static class TelemetryExtensions
{
    /// <summary>The meters the silo exports: Nefele's own and Orleans'.</summary>
    public static readonly string[] Meters = [Nefele.Telemetry.Name, "Nefele.*", "Microsoft.Orleans"];

    /// <summary>Spans are exported (an OTLP endpoint is set for traces): only then are they made, and grain calls propagate them.</summary>
    public static bool TracesExported =>
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"))
        || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"));

    /// <summary>The activity sources the silo traces: Nefele's own, and Orleans' grain calls.</summary>
    public static readonly string[] Sources = [Nefele.Telemetry.Name, "Nefele.*", "Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application"];

    public static IServiceCollection AddNefeleTelemetry(this IServiceCollection services, IConfiguration configuration, string node, string clusterId)
    {
        var otlp = TelemetryResource.OtlpConfigured(name => configuration[name]);
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(r => r
                .AddService(configuration["OTEL_SERVICE_NAME"] ?? TelemetryResource.SiloService, serviceInstanceId: $"{node}/silo")
                .AddAttributes(
                [
                    new(TelemetryResource.NodeName, node),
                    new(TelemetryResource.ClusterId, clusterId),
                    new(TelemetryResource.Role, "silo"),
                ]))
            .WithMetrics(m => m
                .AddMeter(Meters)
                .AddAspNetCoreInstrumentation()
                .AddRuntimeInstrumentation()
                .AddProcessInstrumentation()
                .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));

        // Spans cost something on every grain call; they are recorded only when they go somewhere.
        if (TracesExported)
        {
            telemetry.WithTracing(t => t.AddSource(Sources).AddAspNetCoreInstrumentation());
        }

        if (otlp)
        {
            telemetry
                .WithLogging()
                .UseOtlpExporter();
        }

        services.AddSingleton<NodeGauges>();
        services.AddHostedService(sp => sp.GetRequiredService<NodeGauges>());
        return services;
    }

    /// <summary>
    /// Lists the exporter's scrape endpoint in the OpenAPI document like the API's own routes: it is
    /// a request delegate, which the document describes only with a method to read and an HTTP method.
    /// </summary>
    public static IEndpointConventionBuilder DescribeScrape(this IEndpointConventionBuilder scrape) =>
        scrape
            .WithMetadata(typeof(TelemetryExtensions).GetMethod(nameof(Scrape), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!)
            .WithMetadata(new HttpMethodMetadata([HttpMethods.Get]))
            .WithTags("telemetry")
            .WithMetadata(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(string), ["text/plain"]));

    /// <summary>What the scrape answers, for the OpenAPI document: the Prometheus text format 0.0.4.</summary>
    private static string Scrape() => throw new NotSupportedException("described only; the exporter answers");
}
