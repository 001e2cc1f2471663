using Nefele.Client;

namespace Nefele.Placement;

/// <summary>One admitted task: its NPID, the node that reserved room for it, and its index in the request.</summary>
[GenerateSerializer, Immutable]
public sealed record AdmittedTask(
    [property: Id(0)] string Npid,
    [property: Id(1)] string Node,
    [property: Id(2)] int Task);
