using Nefele.Nodes;

namespace Nefele.Silo.Api;

/// <summary>Answer of GET /v1/nodes.</summary>
public sealed record NodeList(IReadOnlyList<NodeCapacity> Nodes);
