using System.Reflection;
using Orleans.Hosting;

namespace Nefele.Client;

/// <summary>
/// Redis clustering and mutual TLS need Orleans' server runtime, so they live in the optional
/// package Nefele.Client.Redis; the base client finds it when a setting asks for it, so a
/// program that never clusters does not carry the server runtime.
/// </summary>
internal static class ClusterSupport
{
    private const string TypeName = "Nefele.Client.RedisClusterSupport, Nefele.Client.Redis";

    public static bool Needed(NefeleClientOptions options) =>
        options.Redis is not null || options.Tls is not null || options.TlsCaFile is not null || options.TlsCertificateFile is not null || options.TlsKeyFile is not null;

    /// <summary>Applies Redis clustering and TLS from <paramref name="options"/>.</summary>
    public static void Configure(IClientBuilder client, NefeleClientOptions options)
    {
        var method = Type.GetType(TypeName, throwOnError: false)?.GetMethod("Configure", BindingFlags.Public | BindingFlags.Static)
            ?? throw new InvalidOperationException(
                $"{(options.Redis is not null ? "Redis" : "TLS")} is set in the Nefele client options, which needs the Nefele.Client.Redis package: add it to the project (dotnet add package Nefele.Client.Redis)");
        method.CreateDelegate<Action<IClientBuilder, NefeleClientOptions>>()(client, options);
    }
}
