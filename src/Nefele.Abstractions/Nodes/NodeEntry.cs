namespace Nefele.Nodes;

/// <summary>One node as the directory knows it: name, labels and devices (what constraints match on).</summary>
[GenerateSerializer, Immutable]
public sealed record NodeEntry
{
    [Id(0)] public required string Name { get; init; }
    [Id(1)] public bool Hollow { get; init; }
    [Id(2)] public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
    [Id(3)] public IReadOnlyDictionary<string, long> Devices { get; init; } = new Dictionary<string, long>();
}
