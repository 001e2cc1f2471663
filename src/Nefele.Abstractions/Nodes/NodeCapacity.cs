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
}
