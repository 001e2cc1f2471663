using Nefele.Client;

namespace Nefele.Placement;

/// <summary>
/// What a placement request admitted, stored before anything is launched: a retry that reaches
/// a new activation (its first silo died) finishes this admission instead of admitting again.
/// </summary>
[GenerateSerializer]
public sealed class PlacementRecord
{
    [Id(0)] public SpawnRequest? Request { get; set; }

    [Id(1)] public List<AdmittedTask> Admitted { get; set; } = [];

    [Id(2)] public List<string> Rejected { get; set; } = [];

    /// <summary>Who the tenant's processes run as, as admission found it.</summary>
    [Id(3)] public Tenants.RunAs? RunAs { get; set; }
}
