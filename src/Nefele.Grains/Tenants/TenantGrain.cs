using Orleans.Runtime;

namespace Nefele.Tenants;

/// <summary>The tenant's index of live NPIDs, persisted so ps survives a silo restart in cluster mode.</summary>
public sealed class TenantGrain([PersistentState("tenant", StorageNames.Default)] IPersistentState<TenantRecord> state)
    : Grain, ITenantGrain
{
    // A request indexes its NPIDs while they launch, so a process that ends at once can be
    // removed before it was added. Such removals are remembered (boundedly, in memory) and
    // the late add is dropped, so the index never keeps an ended process.
    private const int EarlyRemovalsKept = 4096;
    private readonly HashSet<string> _removedEarly = new(StringComparer.Ordinal);
    private readonly Queue<string> _removedEarlyOrder = new();

    public async Task AddAsync(string npid)
    {
        if (!_removedEarly.Remove(npid) && state.State.Npids.Add(npid))
        {
            await state.WriteStateAsync();
        }
    }

    public async Task AddManyAsync(IReadOnlyList<string> npids)
    {
        var added = false;
        foreach (var npid in npids)
        {
            added |= !_removedEarly.Remove(npid) && state.State.Npids.Add(npid);
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
            return;
        }

        if (_removedEarly.Add(npid))
        {
            _removedEarlyOrder.Enqueue(npid);
            while (_removedEarlyOrder.Count > EarlyRemovalsKept)
            {
                _removedEarly.Remove(_removedEarlyOrder.Dequeue());
            }
        }
    }

    public Task<IReadOnlyList<string>> ListAsync() =>
        Task.FromResult<IReadOnlyList<string>>(state.State.Npids.Order(StringComparer.Ordinal).ToArray());
}
