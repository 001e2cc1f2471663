using Nefele.Client;
using Nefele.Errors;
using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.Placement;

namespace Nefele.Nodes;

/// <summary>
/// Finds the active silo whose name is the grain's key. A hollow node (key "hollow-&lt;n&gt;") has
/// no silo of its own: it goes to an active silo chosen by a stable hash of its name, so many
/// hollow nodes spread over the cluster's silos.
/// </summary>
internal sealed class NodeLocalPlacementDirector(IClusterMembershipService membership) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var node = target.GrainIdentity.Key.ToString()!;
        if (HollowNode.IsHollow(node))
        {
            var silos = context.GetCompatibleSilos(target).OrderBy(s => s.ToParsableString(), StringComparer.Ordinal).ToArray();
            if (silos.Length == 0)
            {
                throw new NefeleException(ErrorCodes.NodeUnavailable, $"no active silo can host hollow node {node}");
            }

            return Task.FromResult(silos[(int)(StableHash(node) % (uint)silos.Length)]);
        }

        foreach (var member in membership.CurrentSnapshot.Members.Values)
        {
            if (member.Status == SiloStatus.Active && string.Equals(member.Name, node, StringComparison.Ordinal))
            {
                return Task.FromResult(member.SiloAddress);
            }
        }

        throw new NefeleException(ErrorCodes.NodeUnavailable, $"node {node} is not an active member of the cluster");
    }

    /// <summary>FNV-1a: the same on every silo and every run (string.GetHashCode is not).</summary>
    private static uint StableHash(string text)
    {
        var hash = 2166136261u;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return hash;
    }
}
