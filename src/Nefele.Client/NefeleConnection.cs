using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Nefele.Auth;
using Orleans.Hosting;
using Orleans.Runtime;

namespace Nefele.Client;

/// <summary>
/// A program's connection to a Nefele cluster. Connect once and keep it (connecting takes
/// about a second; every call after is a message on the open link); dispose it when done.
/// It takes nothing of the program over: no console lifetime (Ctrl-C and SIGTERM stay the
/// program's), no logging unless <see cref="NefeleClientOptions.LoggerFactory"/> is given.
/// </summary>
public sealed class NefeleConnection : IAsyncDisposable
{
    /// <summary>How long disposing waits for the client to close its links before it lets go.</summary>
    private static readonly TimeSpan StopBound = TimeSpan.FromSeconds(5);

    private readonly ServiceProvider _services;
    private readonly IHostedService[] _started;
    private readonly GatewayLoss _gatewayLoss;
    private readonly string _tenant;
    private int _disposed;

    private NefeleConnection(ServiceProvider services, IHostedService[] started, GatewayLoss gatewayLoss, string tenant)
    {
        _services = services;
        _started = started;
        _gatewayLoss = gatewayLoss;
        _tenant = tenant;
        Grains = services.GetRequiredService<IClusterClient>();
    }

    /// <summary>The Orleans client's grain factory: for the silo and the tests only, never in the public surface.</summary>
    internal IGrainFactory Grains { get; }

    /// <summary>
    /// Connects as <paramref name="options"/> say (null: the embedded node on localhost with the
    /// key found as nef finds it). Fails with <see cref="NefeleException"/>
    /// <see cref="ErrorCodes.NodeUnavailable"/>, naming the gateways tried, when none answers
    /// within <see cref="NefeleClientOptions.ConnectTimeout"/>; with
    /// <see cref="ErrorCodes.Unauthenticated"/> when there is no key to be found.
    /// </summary>
    /// <param name="options">Where and as whom to connect; copied, so later changes do not affect the connection.</param>
    /// <param name="ct">Cancels connecting (an <see cref="OperationCanceledException"/>, and nothing is left running).</param>
    /// <returns>The open connection.</returns>
    public static async Task<NefeleConnection> ConnectAsync(NefeleClientOptions? options = null, CancellationToken ct = default)
    {
        options = options?.Clone() ?? new NefeleClientOptions();
        if (options.ConnectTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"ConnectTimeout must be positive, not {options.ConnectTimeout}", nameof(options));
        }

        Validation.Names.ValidateTenantName(options.Tenant);
        var token = Credential(options);
        var gateways = Gateways(options);
        var gatewayLoss = new GatewayLoss();
        var services = new ServiceCollection();

        // The program's logger factory, or none: nothing of the client reaches its stdout unasked.
        services.AddSingleton(options.LoggerFactory ?? NullLoggerFactory.Instance);
        services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        services.AddOrleansClient(client =>
        {
            client.AddGatewayCountChangedHandler(gatewayLoss.OnGatewayCountChanged);

            // A program that traces (see NefeleTelemetry) has its spans' context carried with each call.
            client.AddActivityPropagation();

            // Every call carries the key; the silos check it on every call.
            client.AddOutgoingGrainCallFilter(context =>
            {
                RequestContext.Set(CallCredentials.ApiKey, token);
                return context.Invoke();
            });
            // A cluster's service id is its cluster id (the embedded node's are both "nefele").
            client.Configure<Orleans.Configuration.ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (options.ClusterId, options.ClusterId));
            if (gateways.Count > 0)
            {
                client.UseStaticClustering([.. gateways]);
            }

            if (ClusterSupport.Needed(options))
            {
                ClusterSupport.Configure(client, options);
            }
        });

        // No generic host: its console lifetime would take Ctrl-C and SIGTERM from the program.
        // The client's hosted services are started here, in order, and stopped in reverse.
        var provider = services.BuildServiceProvider();
        var started = new List<IHostedService>();
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bounded.CancelAfter(options.ConnectTimeout);
        try
        {
            foreach (var service in provider.GetServices<IHostedService>())
            {
                await service.StartAsync(bounded.Token).WaitAsync(bounded.Token);
                started.Add(service);
            }
        }
        catch (Exception e)
        {
            // A connection that never came up (no gateway, refused by TLS, cancelled) leaves nothing running.
            await StopAsync(started, provider);
            ct.ThrowIfCancellationRequested();
            var where = options.Redis is not null ? $"the gateways listed in Redis {options.Redis} (cluster {options.ClusterId})" : string.Join(", ", gateways);
            throw e is OperationCanceledException
                ? new NefeleException(ErrorCodes.NodeUnavailable, $"no Nefele gateway answered within {options.ConnectTimeout.TotalSeconds:0.###} s: tried {where}")
                : new NefeleException(ErrorCodes.NodeUnavailable, $"cannot connect to a Nefele gateway ({where}): {e.Message}", e);
        }

        return new NefeleConnection(provider, [.. started], gatewayLoss, options.Tenant);
    }

    /// <summary>
    /// The tenant <paramref name="name"/> (null: <see cref="NefeleClientOptions.Tenant"/>) as this
    /// connection's key may see it; the silos check every call against the key's tenant and role.
    /// </summary>
    /// <param name="name">A tenant name (a DNS label), or null for the connection's default tenant.</param>
    /// <returns>A handle on the tenant; cheap, nothing is called until a method is.</returns>
    public NefeleTenant Tenant(string? name = null) => new(Grains, name ?? _tenant, _gatewayLoss);

    /// <summary>Tenants and keys (needs an admin key, or a tenant owner's for that tenant's keys).</summary>
    public NefeleAdmin Admin => new(Grains);

    /// <summary>Closes the connection; a second call does nothing.</summary>
    /// <returns>When the client's links are closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await StopAsync(_started, _services);
        }
    }

    private static async Task StopAsync(IReadOnlyList<IHostedService> started, ServiceProvider provider)
    {
        using var bound = new CancellationTokenSource(StopBound);
        for (var i = started.Count - 1; i >= 0; i--)
        {
            try
            {
                await started[i].StopAsync(bound.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException or IOException)
            {
                // Closing as the gateway went away: nothing is left to close.
            }
        }

        await provider.DisposeAsync();
    }

    private static string Credential(NefeleClientOptions options)
    {
        if (options.ApiKey is { } key)
        {
            return ApiKeys.TryParse(key, out _, out _)
                ? key
                : throw new ArgumentException("ApiKey is not a Nefele API key (nfk_<id>_<secret>)", nameof(options));
        }

        return CredentialSources.Find()
            ?? throw new NefeleException(
                ErrorCodes.Unauthenticated,
                $"no API key: set NefeleClientOptions.ApiKey, or {CredentialSources.TokenVariable}, or put 'token = …' in {CredentialSources.ConfigFile}");
    }

    /// <summary>The gateways to try; none when Redis lists them.</summary>
    private static List<IPEndPoint> Gateways(NefeleClientOptions options)
    {
        if (options.Gateways.Count == 0)
        {
            return options.Redis is null ? [new IPEndPoint(IPAddress.Loopback, NefeleDefaults.GatewayPort)] : [];
        }

        if (options.Redis is not null)
        {
            throw new ArgumentException("set Gateways or Redis, not both", nameof(options));
        }

        return [.. options.Gateways.Select(Endpoint)];
    }

    private static IPEndPoint Endpoint(string gateway)
    {
        if (IPEndPoint.TryParse(gateway, out var ip) && ip.Port != 0)
        {
            return ip;
        }

        var colon = gateway.LastIndexOf(':');
        if (colon > 0 && int.TryParse(gateway.AsSpan(colon + 1), out var port) && port is > 0 and <= 65535)
        {
            try
            {
                var address = Dns.GetHostAddresses(gateway[..colon]).OrderBy(a => a.AddressFamily == AddressFamily.InterNetwork ? 0 : 1).First();
                return new IPEndPoint(address, port);
            }
            catch (Exception e) when (e is SocketException or InvalidOperationException)
            {
                throw new ArgumentException($"gateway '{gateway}': cannot resolve {gateway[..colon]}: {e.Message}", nameof(gateway), e);
            }
        }

        throw new ArgumentException($"gateway '{gateway}' is not host:port (e.g. 127.0.0.1:{NefeleDefaults.GatewayPort})", nameof(gateway));
    }
}
