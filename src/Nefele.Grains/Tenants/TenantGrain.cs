using Orleans.Concurrency;
using Orleans.Runtime;

namespace Nefele.Tenants;

/// <summary>
/// The tenant's index of live NPIDs, persisted so ps survives a silo restart in cluster mode.
/// Reentrant with group commit: changes that arrive while a write is under way are written
/// together by the next one, so thousands of processes starting and ending per second cost a
/// few writes, not one each (every caller still returns only once its change is stored).
/// </summary>
[Reentrant]
public sealed class TenantGrain([PersistentState("tenant", StorageNames.Default)] IPersistentState<TenantRecord> state)
    : Grain, ITenantGrain
{
    // A request indexes its NPIDs while they launch, so a process that ends at once can be
    // removed before it was added. Such removals are remembered (boundedly, in memory) and
    // the late add is dropped, so the index never keeps an ended process.
    private const int EarlyRemovalsKept = 4096;
    private readonly HashSet<string> _removedEarly = new(StringComparer.Ordinal);
    private readonly Queue<string> _removedEarlyOrder = new();
    private Task? _writing;
    private bool _dirty;

    public async Task AddAsync(string npid)
    {
        if (!_removedEarly.Remove(npid) && state.State.Npids.Add(npid))
        {
            await PersistAsync();
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
            await PersistAsync();
        }
    }

    public async Task RemoveAsync(string npid)
    {
        if (state.State.Npids.Remove(npid))
        {
            var ended = state.State.Ended;
            ended.Add(npid);
            if (ended.Count > TenantRecord.EndedKept)
            {
                ended.RemoveRange(0, ended.Count - TenantRecord.EndedKept);
            }

            await PersistAsync();
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

    private async Task PersistAsync()
    {
        _dirty = true;
        while (_dirty)
        {
            if (_writing is { IsCompleted: false } inFlight)
            {
                // Written by the next write, which starts when this one is done.
                await inFlight;
                continue;
            }

            _dirty = false;
            var write = state.WriteStateAsync();
            _writing = write;
            try
            {
                await write;
            }
            finally
            {
                if (_writing == write)
                {
                    _writing = null;
                }
            }
        }
    }

    public Task<IReadOnlyList<string>> ListAsync(bool includeEnded = false) =>
        Task.FromResult<IReadOnlyList<string>>(
            (includeEnded ? state.State.Npids.Concat(state.State.Ended).Distinct(StringComparer.Ordinal) : state.State.Npids)
                .Order(StringComparer.Ordinal).ToArray());
}
