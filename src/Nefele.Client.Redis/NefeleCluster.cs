namespace Nefele.Client;

/// <summary>
/// Connections to a Nefele cluster through its Redis, and mutual TLS on gateway links: the
/// parts of the client that need Orleans' server runtime, in the package Nefele.Client.Redis.
/// </summary>
public static class NefeleCluster
{
    /// <summary>
    /// Connects to a cluster through its Redis: any node's gateway will do, the client follows
    /// membership changes (the gateway list is re-read every second), and a monitor or a followed
    /// log carries on through the gateways left when one is lost.
    /// </summary>
    /// <param name="redis">The cluster's Redis, "host:port".</param>
    /// <param name="options">The rest (cluster id, key, TLS, timeout); its <see cref="NefeleClientOptions.Redis"/> is set to <paramref name="redis"/> on a copy.</param>
    /// <param name="ct">Cancels connecting.</param>
    /// <returns>The open connection.</returns>
    public static Task<NefeleConnection> ConnectAsync(string redis, NefeleClientOptions? options = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(redis);
        var copy = options?.Clone() ?? new NefeleClientOptions();
        copy.Redis = redis;
        return NefeleConnection.ConnectAsync(copy, ct);
    }

    /// <summary>Makes every gateway link of connections with these options mutual TLS with <paramref name="tls"/> (wins over the TLS files).</summary>
    /// <param name="options">The options to change.</param>
    /// <param name="tls">The cluster's CA and this program's certificate.</param>
    /// <returns><paramref name="options"/>.</returns>
    public static NefeleClientOptions UseTls(this NefeleClientOptions options, NefeleTls tls)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(tls);
        options.Tls = tls;
        return options;
    }
}
