namespace Nefele.Nodes;

/// <summary>Every node the directory knows, with a version that changes whenever an entry does.</summary>
[GenerateSerializer, Immutable]
public sealed record NodeDirectorySnapshot
{
    [Id(0)] public long Version { get; init; }
    [Id(1)] public IReadOnlyList<NodeEntry> Nodes { get; init; } = [];
}
