namespace Nefele.Nodes;

/// <summary>The node directory's persisted state, so it survives the silo that held it.</summary>
[GenerateSerializer]
public sealed class NodeDirectoryRecord
{
    [Id(0)] public Dictionary<string, NodeEntry> Nodes { get; set; } = new(StringComparer.Ordinal);

    [Id(1)] public int NextHollow { get; set; }
}
