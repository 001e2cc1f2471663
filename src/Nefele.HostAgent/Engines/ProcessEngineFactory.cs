using Microsoft.Extensions.Logging;
using Nefele.HostAgent.Cgroups;
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
}
