using Orleans.Runtime;

namespace Nefele.Tenants;

/// <summary>The tenant's index of live NPIDs, persisted so ps survives a silo restart in cluster mode.</summary>
public sealed class TenantGrain([PersistentState("tenant", StorageNames.Default)] IPersistentState<TenantRecord> state)
    : Grain, ITenantGrain
{
    public async Task AddAsync(string npid)
    {
        if (state.State.Npids.Add(npid))
        {
            await state.WriteStateAsync();
        }
    }

    public async Task AddManyAsync(IReadOnlyList<string> npids)
    {
        var added = false;
        foreach (var npid in npids)
        {
            added |= state.State.Npids.Add(npid);
        }

        if (added)
        {
            await state.WriteStateAsync();
        }
    }

    public async Task RemoveAsync(string npid)
    {
        if (state.State.Npids.Remove(npid))
        {
            await state.WriteStateAsync();
        }
    }

    public Task<IReadOnlyList<string>> ListAsync() =>
        Task.FromResult<IReadOnlyList<string>>(state.State.Npids.Order(StringComparer.Ordinal).ToArray());
}
