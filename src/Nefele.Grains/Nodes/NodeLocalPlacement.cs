using Orleans.Placement;
using Orleans.Runtime;

namespace Nefele.Nodes;

/// <summary>
/// Places a grain keyed by a node name on the silo of that node (the silo whose name is the key),
/// so a node's agent always runs next to the hostd it talks to.
/// </summary>
[GenerateSerializer, Immutable, SuppressReferenceTracking]
public sealed class NodeLocalPlacement : PlacementStrategy
{
    public static NodeLocalPlacement Instance { get; } = new();

    public override bool IsUsingGrainDirectory => true;
}
