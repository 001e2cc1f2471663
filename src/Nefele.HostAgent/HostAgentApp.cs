using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nefele.HostAgent.Cgroups;
using Nefele.HostAgent.Control;
using Nefele.HostAgent.Engines;
using Nefele.HostAgent.Processes;
using Nefele.HostAgent.Shim;

namespace Nefele.HostAgent;

/// <summary>Builds the hostd generic host (used by Program and by tests that run hostd in-process).</summary>
public static class HostAgentApp
{
    /// <exception cref="ArgumentException">A short flag is missing its value or has a bad one.</exception>
    public static IHost Build(string[] args)
    {
        var (flags, rest) = CommandLine.Parse(args);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = rest, DisableDefaults = false });
        builder.Configuration.AddInMemoryCollection(flags);
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });

        builder.Services.AddHostAgentTelemetry(builder.Configuration);
        builder.Services.AddOptions<HostAgentOptions>()
            .Bind(builder.Configuration.GetSection(HostAgentOptions.SectionName))
            .PostConfigure(o => o.ApplyDefaults())
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<HostAgentOptions>, HostAgentOptionsValidator>();
        builder.Services.AddSingleton(sp => sp.GetRequiredService<IOptions<HostAgentOptions>>().Value);
        builder.Services.AddSingleton(sp => CgroupManagerFactory.Create(sp.GetRequiredService<HostAgentOptions>()));
        builder.Services.AddSingleton(sp => new Containers.ContainerManager(
            sp.GetRequiredService<HostAgentOptions>(), sp.GetRequiredService<ILogger<Containers.ContainerManager>>(), sp.GetRequiredService<Networking.TenantNetworks>()));
        builder.Services.AddSingleton(sp => ProcessEngineFactory.WithContainers(
            ProcessEngineFactory.Create(sp.GetRequiredService<HostAgentOptions>(), sp.GetRequiredService<ICgroupManager>(), sp.GetRequiredService<ILoggerFactory>()),
            sp.GetRequiredService<HostAgentOptions>(), sp.GetRequiredService<Containers.ContainerManager>(),
            sp.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddOptions<Networking.TenantNetworkOptions>()
            .Bind(builder.Configuration.GetSection(Networking.TenantNetworkOptions.SectionName))
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<Networking.TenantNetworkOptions>, Networking.TenantNetworkOptionsValidator>();
        builder.Services.AddSingleton(sp => new Networking.TenantNetworks(
            sp.GetRequiredService<IOptions<Networking.TenantNetworkOptions>>().Value, sp.GetRequiredService<HostAgentOptions>().Node,
            new Networking.IpRoute(), sp.GetRequiredService<ILogger<Networking.TenantNetworks>>()));
        builder.Services.AddSingleton<Messaging.PostOffice>();
        builder.Services.AddSingleton<Shared.TenantDirectories>();
        builder.Services.AddSingleton<Images.ImageCache>();
        builder.Services.AddSingleton<Images.OverlayCommitter>();
        builder.Services.AddSingleton(sp => HostAgentTelemetrySetup.CreateLogExports(
            sp.GetRequiredService<HostAgentOptions>(), builder.Configuration, sp.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddSingleton<ProcessSupervisor>();
        builder.Services.AddHostedService<Images.ImageCacheSweeper>();
        builder.Services.AddSingleton<NodeFactsProvider>();
        // First: a liveness port hostd cannot have stops it before anything else starts.
        builder.Services.AddHostedService<LivenessListener>();
        builder.Services.AddSingleton<Monitoring.NodeLoadMonitor>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<Monitoring.NodeLoadMonitor>());
        builder.Services.AddSingleton<ControlServer>();
        builder.Services.AddSingleton<HandshakeServer>();
        builder.Services.AddHostedService<HostAgentService>();
        builder.Services.Configure<HostOptions>(o =>
            o.ShutdownTimeout = builder.Configuration.GetSection(HostAgentOptions.SectionName).GetValue<TimeSpan?>("StopGrace").GetValueOrDefault(TimeSpan.FromSeconds(5)) + TimeSpan.FromSeconds(10));
        return builder.Build();
    }
}
