namespace Nefele.Nodes;

/// <summary>
/// This silo's view of which nodes are alive (an active silo of that name in the cluster
/// membership), and the Running processes active here that must be told when their node
/// is lost.
/// </summary>
public interface INodeLiveness
{
    /// <summary>
    /// True once <paramref name="node"/> has had no active silo for its grace: FailureOptions.DeadNodeLostAfter
    /// when the cluster declared its silo dead, FailureOptions.NodeLostAfter when the silo left on its own.
    /// </summary>
    bool IsLost(string node);

    /// <summary>The sentence a Lost process's end carries.</summary>
    string LostReason(string node);

    /// <summary>Marks the process Lost if its node is lost while this activation watches it.</summary>
    void Watch(string node, string npid);

    void Unwatch(string node, string npid);

    /// <summary>Keeps checking <paramref name="node"/> even while no process there is watched here, so <see cref="IsLost"/> can turn true for it.</summary>
    void Follow(string node);
}
