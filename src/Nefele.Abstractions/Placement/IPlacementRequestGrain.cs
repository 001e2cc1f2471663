using Nefele.Auth;
using Nefele.Client;

namespace Nefele.Placement;

/// <summary>
/// One spawn / nspawn / cspawn, keyed "tenant/request-id" (the id is client-chosen, so a
/// retry with the same id returns the first answer instead of spawning again).
/// Offers → ranking → reservation with a lease → commit → launch (design.md §3).
/// </summary>
public interface IPlacementRequestGrain : IGrainWithStringKey
{
    [Access(Role.Member, TenantFrom.GrainKeyPrefix)]
    Task<SpawnResult> SubmitAsync(SpawnRequest request, CancellationToken ct = default);

    /// <summary>Past retention: forgets the request (its id may then be used afresh) and deactivates.</summary>
    Task CollectAsync();
}
