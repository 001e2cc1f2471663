namespace Nefele.Silo.Api;

/// <summary>Answer of DELETE /v1/hollow-nodes: how many hollow nodes were removed.</summary>
public sealed record HollowNodesRemoved(int Removed);
