using Microsoft.Extensions.Logging;
using Nefele.HostAgent.Cgroups;
using Nefele.HostAgent.Engines.Native;

namespace Nefele.HostAgent.Engines;

/// <summary>Built-in engines by configuration name; none is special-cased elsewhere.</summary>
public static class ProcessEngineFactory
{
    public static IProcessEngine Create(HostAgentOptions options, ICgroupManager cgroups, ILoggerFactory loggers) =>
        options.Engine switch
        {
            "native" => new NativeEngine(options.SpawnLibraryPath, cgroups, loggers.CreateLogger<NativeEngine>(), options),
            _ => throw new InvalidOperationException($"{HostAgentOptions.SectionName}:Engine '{options.Engine}' is not a known engine; allowed: native"),
        };
}
