using Microsoft.Extensions.Logging;
using Nefele.HostAgent.Cgroups;
using Nefele.HostAgent.Containers;
using Nefele.HostAgent.Engines.Native;
using Nefele.HostAgent.Engines.Systemd;

namespace Nefele.HostAgent.Engines;

/// <summary>Built-in engines by configuration name; none is special-cased elsewhere.</summary>
public static class ProcessEngineFactory
{
    public static IProcessEngine Create(HostAgentOptions options, ICgroupManager cgroups, ILoggerFactory loggers) =>
        options.Engine switch
        {
            "native" => new NativeEngine(options.SpawnLibraryPath, cgroups, loggers.CreateLogger<NativeEngine>(), options),
            "systemd" => new SystemdEngine(options.SystemdBus, options.Node, loggers.CreateLogger<SystemdEngine>()),
            _ => throw new InvalidOperationException($"{HostAgentOptions.SectionName}:Engine '{options.Engine}' is not a known engine; allowed: native, systemd"),
        };

    /// <summary>
    /// The engine hostd holds: <paramref name="node"/>, with launches that name a tenant container
    /// routed into it, when containers are on and this machine can run them (root and systemd-nspawn).
    /// </summary>
    public static IProcessEngine WithContainers(IProcessEngine node, HostAgentOptions options, ContainerManager containers, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger(typeof(ProcessEngineFactory));
        if (!options.Containers.Enabled)
        {
            return node;
        }

        var nspawn = options.Containers.NspawnPath;
        var found = nspawn.Contains('/', StringComparison.Ordinal)
            ? File.Exists(nspawn)
            : (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).Any(d => File.Exists(Path.Combine(d, nspawn)));
        if (!found || Environment.UserName != "root" || !File.Exists(options.Containers.PausePath))
        {
            logger.LogWarning("Tenant containers are off on this node: {Why}; processes from images run on the host",
                !found ? $"{nspawn} was not found (apt-get install systemd-container)"
                : Environment.UserName != "root" ? "hostd does not run as root"
                : $"{options.Containers.PausePath} does not exist (make -C native)");
            return node;
        }

        return new ContainerEngine(node, containers, options.Node, loggers);
    }
}
