namespace Nefele.Nodes;

/// <summary>A node's allocatable resources (real cores and memory less the reserve) and what is taken.</summary>
[GenerateSerializer, Immutable]
public sealed record NodeCapacity
{
    [Id(0)] public required string Node { get; init; }
    [Id(1)] public long CpuMillis { get; init; }
    [Id(2)] public long MemoryBytes { get; init; }
    [Id(3)] public long ReservedCpuMillis { get; init; }
    [Id(4)] public long ReservedMemoryBytes { get; init; }
    [Id(5)] public int Processes { get; init; }
    [Id(6)] public bool HostAgentAttached { get; init; }
    [Id(7)] public string? Engine { get; init; }

    /// <summary>Devices the node has (declared, else detected by hostd), by name.</summary>
    [Id(8)] public IReadOnlyDictionary<string, long> Devices { get; init; } = new Dictionary<string, long>();

    [Id(9)] public IReadOnlyDictionary<string, long> ReservedDevices { get; init; } = new Dictionary<string, long>();

    [Id(10)] public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>Latest measured CPU load, 0..1, and memory in use (hostd's monitoring; 0 when unknown).</summary>
    [Id(11)] public double CpuLoad { get; init; }

    [Id(12)] public long MemoryUsedBytes { get; init; }

    /// <summary>A hollow node: declared capacity, launches recorded without forking (for placement at scale).</summary>
    [Id(13)] public bool Hollow { get; init; }
}
