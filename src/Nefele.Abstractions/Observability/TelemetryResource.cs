namespace Nefele.Observability;

/// <summary>
/// What the silo and hostd both say about themselves to OpenTelemetry: the resource attributes
/// that name the node, the cluster and the role, and whether OTLP export is asked for.
/// </summary>
public static class TelemetryResource
{
    /// <summary>service.name of a silo (OTEL_SERVICE_NAME overrides it).</summary>
    public const string SiloService = "nefele-silo";

    /// <summary>service.name of hostd (OTEL_SERVICE_NAME overrides it).</summary>
    public const string HostdService = "nefele-hostd";

    /// <summary>Resource attribute: the node's name.</summary>
    public const string NodeName = "nefele.node.name";

    /// <summary>Resource attribute: the cluster id (the single-node default when not clustered).</summary>
    public const string ClusterId = "nefele.cluster.id";

    /// <summary>Resource attribute: <c>silo</c> or <c>hostd</c>.</summary>
    public const string Role = "nefele.role";

    /// <summary>
    /// True when any of the standard endpoint variables is set: OTEL_EXPORTER_OTLP_ENDPOINT or a
    /// signal's own (…_TRACES_ENDPOINT, …_METRICS_ENDPOINT, …_LOGS_ENDPOINT). Without one, nothing
    /// is exported over OTLP and no span is recorded.
    /// </summary>
    /// <param name="variable">Reads a variable (the environment, or the host's configuration).</param>
    public static bool OtlpConfigured(Func<string, string?> variable) =>
        OtlpEndpoints.Any(name => !string.IsNullOrWhiteSpace(variable(name)));

    private static readonly string[] OtlpEndpoints =
        ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"];
}
