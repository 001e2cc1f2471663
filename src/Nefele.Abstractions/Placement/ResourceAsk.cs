using Nefele.Client;
using Nefele.Processes;

namespace Nefele.Placement;

/// <summary>What one task needs from a node: CPU, memory and devices by name (null: none).</summary>
[GenerateSerializer, Immutable]
public sealed record ResourceAsk(
    [property: Id(0)] long CpuMillis,
    [property: Id(1)] long MemoryBytes,
    [property: Id(2)] IReadOnlyDictionary<string, long>? Devices = null)
{
    /// <summary>What <paramref name="spec"/> reserves on its node.</summary>
    public static ResourceAsk Of(ProcessSpec spec) =>
        new(spec.CpuMillis, spec.MemoryBytes, spec.Devices.Count == 0 ? null : spec.Devices);
}
