using Microsoft.Extensions.Logging;
using Nefele.Validation;

namespace Nefele.Supervision;

/// <summary>A persisted set of names: a tenant's supervisors, or (key "*") the tenants that have any.</summary>
public sealed class SupervisorDirectoryGrain(
    [PersistentState("supervisors", StorageNames.Default)] IPersistentState<SortedSet<string>> state,
    ILogger<SupervisorDirectoryGrain> logger) : Grain, ISupervisorDirectoryGrain
{
    private bool IsAll => this.GetPrimaryKeyString() == ISupervisorDirectoryGrain.AllKey;

    public Task<IReadOnlyList<string>> ListAsync(CancellationToken ct) => Task.FromResult<IReadOnlyList<string>>([.. state.State]);

    public async Task AddAsync(string name)
    {
        if (state.State.Add(name))
        {
            if (!IsAll && state.State.Count == 1)
            {
                await GrainFactory.GetGrain<ISupervisorDirectoryGrain>(ISupervisorDirectoryGrain.AllKey).AddAsync(this.GetPrimaryKeyString());
            }

            await state.WriteStateAsync();
        }
    }

    public async Task RemoveAsync(string name)
    {
        if (state.State.Remove(name))
        {
            await state.WriteStateAsync();
            if (!IsAll && state.State.Count == 0)
            {
                await GrainFactory.GetGrain<ISupervisorDirectoryGrain>(ISupervisorDirectoryGrain.AllKey).RemoveAsync(this.GetPrimaryKeyString());
            }
        }
    }

    public async Task WakeAsync()
    {
        var key = this.GetPrimaryKeyString();
        await Task.WhenAll(state.State.ToArray().Select(async name =>
        {
            try
            {
                await (IsAll
                    ? GrainFactory.GetGrain<ISupervisorDirectoryGrain>(name).WakeAsync()
                    : GrainFactory.GetGrain<ISupervisorGrain>(key + GrainKeys.Separator + name).PingAsync());
            }
            catch (Exception e)
            {
                // The next wake (the next lost silo, or the keeper's sweep) tries it again.
                logger.LogWarning(e, "Waking supervisor {Key}/{Name} failed", key, name);
            }
        }));
    }
}
