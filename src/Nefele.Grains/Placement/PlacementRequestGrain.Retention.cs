using Nefele.Client;
using Nefele.Tenants;

namespace Nefele.Placement;

/// <summary>The end of a spawn request's record: kept so a retry with the same id gets the same answer, then collected.</summary>
public sealed partial class PlacementRequestGrain
{
    public async Task CollectAsync()
    {
        if (state.RecordExists)
        {
            await state.ClearStateAsync();
        }

        state.State = new PlacementRecord();
        _result = null;
        DeactivateOnIdle();
    }

    /// <summary>
    /// Of a stored admission being finished by a later activation, the NPIDs retention already
    /// collected: they ran and ended, so they are answered, not launched again.
    /// </summary>
    private async Task<HashSet<string>> CollectedOfAsync(IEnumerable<string> npids)
    {
        var tenant = GrainFactory.Get<ITenantGrain>(Tenant);
        var collected = new HashSet<string>(StringComparer.Ordinal);
        foreach (var npid in npids)
        {
            if (await tenant.CollectedHintAsync(npid) is not null)
            {
                collected.Add(npid);
            }
        }

        return collected;
    }
}
