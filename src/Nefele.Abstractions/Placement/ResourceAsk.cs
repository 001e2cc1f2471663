namespace Nefele.Placement;

/// <summary>What one task needs from a node.</summary>
[GenerateSerializer, Immutable]
public sealed record ResourceAsk(
    [property: Id(0)] long CpuMillis,
    [property: Id(1)] long MemoryBytes);
