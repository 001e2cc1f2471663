using Microsoft.Extensions.Logging;

namespace Nefele.Client;

/// <summary>
/// How a program reaches a Nefele cluster: where its gateways are, which key it proves itself
/// with, and how long it waits. Bound from the configuration section <see cref="SectionName"/>
/// by <see cref="NefeleServiceCollectionExtensions.AddNefeleClient(Microsoft.Extensions.DependencyInjection.IServiceCollection, Action{NefeleClientOptions}?)"/>.
/// </summary>
public sealed class NefeleClientOptions
{
    /// <summary>The configuration section <c>AddNefeleClient</c> binds: "Nefele".</summary>
    public const string SectionName = "Nefele";

    /// <summary>The default of <see cref="ConnectTimeout"/>: 10 seconds, ten times what connecting to a live gateway takes.</summary>
    public static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Gateways as "host:port" (silos of one cluster); calls go through those that answer.
    /// Empty (the default) with no <see cref="Redis"/>: the embedded one-node setup,
    /// 127.0.0.1:<see cref="NefeleDefaults.GatewayPort"/>.
    /// </summary>
    public IList<string> Gateways { get; } = [];

    /// <summary>
    /// The cluster's Redis ("host:port"), from which the live gateways are read and followed;
    /// needs the Nefele.Client.Redis package. Null (the default): use <see cref="Gateways"/>.
    /// </summary>
    public string? Redis { get; set; }

    /// <summary>The cluster's id (its silos' --cluster-id); default <see cref="NefeleDefaults.ClusterId"/>.</summary>
    public string ClusterId { get; set; } = NefeleDefaults.ClusterId;

    /// <summary>The tenant <see cref="NefeleConnection.Tenant(string?)"/> answers by default; default <see cref="NefeleDefaults.Tenant"/>.</summary>
    public string Tenant { get; set; } = NefeleDefaults.Tenant;

    /// <summary>
    /// The API key (as <c>nef key create</c> printed it). Null (the default): found as nef finds
    /// it, from NEFELE_TOKEN, then <c>~/.config/nefele/config</c>, then the node's admin key file.
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// The cluster's CA certificate (PEM): with <see cref="TlsCertificateFile"/> and
    /// <see cref="TlsKeyFile"/>, every gateway link is mutual TLS. Needs the Nefele.Client.Redis
    /// package. Null (the default): no TLS, as the embedded node and silos run with --insecure-transport.
    /// </summary>
    public string? TlsCaFile { get; set; }

    /// <summary>This program's certificate (PEM, client authentication), issued by the cluster's CA.</summary>
    public string? TlsCertificateFile { get; set; }

    /// <summary>The private key (PEM, unencrypted) of <see cref="TlsCertificateFile"/>.</summary>
    public string? TlsKeyFile { get; set; }

    /// <summary>
    /// How long connecting may take before it fails with <see cref="ErrorCodes.NodeUnavailable"/>
    /// naming the gateways tried; default <see cref="DefaultConnectTimeout"/>.
    /// </summary>
    public TimeSpan ConnectTimeout { get; set; } = DefaultConnectTimeout;

    /// <summary>
    /// Where the client's own logs go (warnings and errors of the Orleans client). Null (the
    /// default for <see cref="NefeleConnection.ConnectAsync(NefeleClientOptions?, CancellationToken)"/>):
    /// nothing is logged. <c>AddNefeleClient</c> uses the application's.
    /// </summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>Mutual TLS given as loaded certificates (a NefeleTls of Nefele.Client.Redis); wins over the files.</summary>
    internal object? Tls { get; set; }

    /// <summary>A copy, so that a connection's settings do not change under it.</summary>
    internal NefeleClientOptions Clone() =>
        new NefeleClientOptions
        {
            Redis = Redis,
            ClusterId = ClusterId,
            Tenant = Tenant,
            ApiKey = ApiKey,
            TlsCaFile = TlsCaFile,
            TlsCertificateFile = TlsCertificateFile,
            TlsKeyFile = TlsKeyFile,
            ConnectTimeout = ConnectTimeout,
            LoggerFactory = LoggerFactory,
            Tls = Tls,
        }.WithGateways(Gateways);

    private NefeleClientOptions WithGateways(IEnumerable<string> gateways)
    {
        foreach (var g in gateways)
        {
            Gateways.Add(g);
        }

        return this;
    }
}
