namespace Nefele.Silo.Api;

/// <summary>Answer of POST /v1/hollow-nodes: the names of the nodes added (hollow-&lt;n&gt;).</summary>
public sealed record HollowNodesAdded(IReadOnlyList<string> Nodes);
