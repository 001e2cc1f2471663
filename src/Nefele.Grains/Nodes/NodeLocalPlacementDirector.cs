using Nefele.Errors;
using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.Placement;

namespace Nefele.Nodes;

/// <summary>Finds the active silo whose name is the grain's key.</summary>
internal sealed class NodeLocalPlacementDirector(IClusterMembershipService membership) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var node = target.GrainIdentity.Key.ToString();
        foreach (var member in membership.CurrentSnapshot.Members.Values)
        {
            if (member.Status == SiloStatus.Active && string.Equals(member.Name, node, StringComparison.Ordinal))
            {
                return Task.FromResult(member.SiloAddress);
            }
        }

        throw new NefeleException(ErrorCodes.NodeUnavailable, $"node {node} is not an active member of the cluster");
    }
}
