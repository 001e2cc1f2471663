using Nefele.Client;
using Orleans.Configuration;
using Orleans.Connections.Security;

namespace Nefele.Silo;

/// <summary>
/// Mutual TLS on every Orleans link of a clustered silo, with the rule of <see cref="NefeleTls"/>:
/// the silo-to-silo port admits silo certificates only (server and client usage), the gateway
/// admits any certificate of the cluster's CA with client usage (programs and silos), and this
/// silo's calls to other silos accept only silo certificates.
/// </summary>
internal static class ClusterTls
{
    public static ISiloBuilder UseClusterTls(this ISiloBuilder silo, Func<NefeleTls> load) =>
        silo.Configure<SiloConnectionOptions>(o =>
        {
            // Loaded when the connection options are first read, after the settings were validated
            // (ClusterSettings loads the files once to report a bad one by its flag).
            var tls = load();
            var siloInbound = tls.ConfigureServer(new TlsOptions(), NefeleTls.ServerAuth, NefeleTls.ClientAuth);
            var gatewayInbound = tls.ConfigureServer(new TlsOptions(), NefeleTls.ClientAuth);
            var siloOutbound = tls.ConfigureClient(new TlsOptions(), NefeleTls.ServerAuth);
            o.ConfigureSiloInboundConnection(b => b.UseServerTls(siloInbound));
            o.ConfigureGatewayInboundConnection(b => b.UseServerTls(gatewayInbound));
            o.ConfigureSiloOutboundConnection(b => b.UseClientTls(siloOutbound));
        });
}
