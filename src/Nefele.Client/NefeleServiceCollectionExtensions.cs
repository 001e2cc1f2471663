using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Nefele.Client;

/// <summary>The Nefele client in a generic-host or ASP.NET Core application.</summary>
public static class NefeleServiceCollectionExtensions
{
    /// <summary>
    /// Registers a <see cref="NefeleConnection"/> and the default <see cref="NefeleTenant"/> as
    /// singletons. Their options are bound from the configuration section
    /// <see cref="NefeleClientOptions.SectionName"/> ("Nefele": Gateways, Redis, ClusterId, Tenant,
    /// ApiKey, TlsCaFile, TlsCertificateFile, TlsKeyFile, ConnectTimeout), then
    /// <paramref name="configure"/> runs. The connection is made when the host starts (a host
    /// that cannot connect does not start), logs through the application's
    /// <see cref="ILoggerFactory"/>, and is closed when the host stops.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <param name="configure">Sets options in code, after the configuration's.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddNefeleClient(this IServiceCollection services, Action<NefeleClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions();
        services.AddSingleton<IConfigureOptions<NefeleClientOptions>>(sp => new ConfigureOptions<NefeleClientOptions>(o =>
        {
            sp.GetService<IConfiguration>()?.GetSection(NefeleClientOptions.SectionName).Bind(o);
            o.LoggerFactory ??= sp.GetService<ILoggerFactory>();
        }));
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.TryAddSingleton<NefeleClientService>();
        services.AddHostedService(sp => sp.GetRequiredService<NefeleClientService>());
        services.TryAddSingleton(sp => sp.GetRequiredService<NefeleClientService>().Connection);
        services.TryAddSingleton(sp => sp.GetRequiredService<NefeleConnection>().Tenant());
        return services;
    }
}
