using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using Orleans.Hosting;

namespace Nefele.Client;

/// <summary>
/// Redis clustering and mutual TLS for a connection; the base client calls <see cref="Configure"/>
/// (found by name) when <see cref="NefeleClientOptions.Redis"/> or a TLS setting is set.
/// </summary>
internal static class RedisClusterSupport
{
    /// <summary>How often a cluster connection re-reads the live gateways from Redis (Orleans' default is a minute). One small read a second.</summary>
    private static readonly TimeSpan GatewayListRefresh = TimeSpan.FromSeconds(1);

    public static void Configure(IClientBuilder client, NefeleClientOptions options)
    {
        if (options.Redis is { } redis)
        {
            var configuration = StackExchange.Redis.ConfigurationOptions.Parse(redis);
            configuration.AbortOnConnectFail = false;
            client.UseRedisClustering(o => o.ConfigurationOptions = configuration);

            // A gateway the cluster declared dead leaves the list at the next refresh, and its
            // link is closed then: a gateway cut off (no link to close) is dropped within this.
            client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = GatewayListRefresh);
        }

        if (Tls(options) is { } tls)
        {
            // Every gateway link is mutual TLS: the gateway must present a silo certificate of the
            // cluster's CA, and gets this program's.
            client.UseTls(o => tls.ConfigureClient(o, NefeleTls.ServerAuth));
        }
    }

    private static NefeleTls? Tls(NefeleClientOptions options)
    {
        if (options.Tls is NefeleTls given)
        {
            return given;
        }

        if (options.TlsCaFile is null && options.TlsCertificateFile is null && options.TlsKeyFile is null)
        {
            return null;
        }

        if (options.TlsCaFile is null || options.TlsCertificateFile is null || options.TlsKeyFile is null)
        {
            throw new ArgumentException("TLS needs all three of TlsCaFile, TlsCertificateFile and TlsKeyFile", nameof(options));
        }

        return NefeleTls.FromPemFiles(options.TlsCaFile, options.TlsCertificateFile, options.TlsKeyFile);
    }
}
