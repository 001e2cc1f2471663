using Orleans.Placement;

namespace Nefele.Nodes;

/// <summary>Marks a grain class as keyed by node name and placed on that node's silo.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class NodeLocalPlacementAttribute : PlacementAttribute
{
    public NodeLocalPlacementAttribute()
        : base(NodeLocalPlacement.Instance)
    {
    }
}
