using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Runtime;

namespace Nefele.Client;

/// <summary>
/// A developer program's connection to a Nefele cluster (an Orleans client). Connect once
/// and keep it: connecting takes about a second.
/// </summary>
public sealed class NefeleConnection : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly GatewayLoss _gatewayLoss;

    private NefeleConnection(IHost host, GatewayLoss gatewayLoss)
    {
        _host = host;
        _gatewayLoss = gatewayLoss;
        Grains = host.Services.GetRequiredService<IClusterClient>();
    }

    public IGrainFactory Grains { get; }

    /// <summary>
    /// Connects to the embedded one-node default (the silo's gateway on localhost) with
    /// <paramref name="credential"/>, else the key found as nef finds it (<see cref="NefeleCredential.FromEnvironment"/>).
    /// </summary>
    public static Task<NefeleConnection> ConnectAsync(int gatewayPort = NefeleDefaults.GatewayPort, NefeleCredential? credential = null, CancellationToken ct = default) =>
        ConnectAsync(client => client.UseStaticClustering(new IPEndPoint(IPAddress.Loopback, gatewayPort)), credential, tls: null, ct);

    /// <summary>
    /// Connects through any of <paramref name="gateways"/> (silos of one cluster, without asking
    /// Redis). Calls go through the gateways that answer; when one is lost, calls move to the
    /// others (a monitor's or a followed log's poll in flight on the lost one is asked again at
    /// once, not after a timeout), and the tenant's <see cref="NefeleTenant.MonitorAsync"/> and
    /// <see cref="NefeleTenant.LogChunksAsync"/> carry on from the last event or byte they gave,
    /// so nothing is repeated or skipped.
    /// </summary>
    public static Task<NefeleConnection> ConnectAsync(IReadOnlyList<IPEndPoint> gateways, NefeleCredential? credential = null, NefeleTls? tls = null, CancellationToken ct = default)
    {
        if (gateways.Count == 0)
        {
            throw new ArgumentException("at least one gateway", nameof(gateways));
        }

        return ConnectAsync(client => client.UseStaticClustering([.. gateways]), credential, tls, ct);
    }

    /// <summary>How often a cluster connection re-reads the live gateways from Redis (Orleans' default is a minute). One small read a second.</summary>
    private static readonly TimeSpan GatewayListRefresh = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Connects to a cluster through its Redis ("host:port"): any node's gateway will do, and the
    /// client follows membership changes. <paramref name="tls"/>: the cluster's CA and this
    /// program's certificate (a cluster's gateways require one unless its silos run with
    /// --insecure-transport); null connects without TLS.
    /// </summary>
    public static Task<NefeleConnection> ConnectToClusterAsync(string redis, string clusterId = NefeleDefaults.ClusterId, NefeleCredential? credential = null, NefeleTls? tls = null, CancellationToken ct = default)
    {
        var options = StackExchange.Redis.ConfigurationOptions.Parse(redis);
        options.AbortOnConnectFail = false;
        return ConnectAsync(
            client =>
            {
                client.UseRedisClustering(o => o.ConfigurationOptions = options);
                client.Configure<Orleans.Configuration.ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (clusterId, clusterId));

                // A gateway the cluster declared dead leaves the list at the next refresh, and its
                // link is closed then: a gateway cut off (no link to close) is dropped within this.
                client.Configure<Orleans.Configuration.GatewayOptions>(o => o.GatewayListRefreshPeriod = GatewayListRefresh);
            },
            credential,
            tls,
            ct);
    }

    /// <summary>
    /// Connects with custom clustering; <paramref name="configure"/> runs after the defaults, so it
    /// may override the cluster id. With <paramref name="tls"/>, every gateway link is mutual TLS: the
    /// gateway must present a silo certificate of the cluster's CA, and gets this program's.
    /// </summary>
    public static async Task<NefeleConnection> ConnectAsync(Action<IClientBuilder> configure, NefeleCredential? credential = null, NefeleTls? tls = null, CancellationToken ct = default)
    {
        var token = (credential ?? NefeleCredential.FromEnvironment())?.Token
            ?? throw new InvalidOperationException(
                $"no API key: pass a NefeleCredential, or set {Auth.CredentialSources.TokenVariable}, or put 'token = …' in {Auth.CredentialSources.ConfigFile}");
        var gatewayLoss = new GatewayLoss();
        var host = Host.CreateDefaultBuilder()
            .UseOrleansClient(client =>
            {
                client.AddGatewayCountChangedHandler(gatewayLoss.OnGatewayCountChanged);
                // Every call carries the key; the silos check it on every call.
                client.AddOutgoingGrainCallFilter(context =>
                {
                    RequestContext.Set(Auth.CallCredentials.ApiKey, token);
                    return context.Invoke();
                });
                client.Configure<Orleans.Configuration.ClusterOptions>(o =>
                {
                    o.ClusterId = NefeleDefaults.ClusterId;
                    o.ServiceId = NefeleDefaults.ServiceId;
                });
                if (tls is not null)
                {
                    client.UseTls(o => tls.ConfigureClient(o, NefeleTls.ServerAuth));
                }

                configure(client);
            })
            .ConfigureLogging(l => l.SetMinimumLevelWarning())
            .Build();
        try
        {
            await host.StartAsync(ct);
        }
        catch
        {
            // A connection that never came up (no gateway, refused by TLS, cancelled) leaves nothing running.
            host.Dispose();
            throw;
        }

        return new NefeleConnection(host, gatewayLoss);
    }

    public NefeleTenant Tenant(string name = NefeleDefaults.Tenant) => new(Grains, name, _gatewayLoss);

    /// <summary>Tenants and keys (needs an admin key, or a tenant owner's for that tenant's keys).</summary>
    public NefeleAdmin Admin => new(Grains);

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
