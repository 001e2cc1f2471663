using Nefele.Client;
using Nefele.Tenants;

namespace Nefele.Processes;

/// <summary>The end of a process record: collected by its tenant once past retention.</summary>
public sealed partial class ProcessGrain
{
    public async Task CollectAsync()
    {
        if (Exists && !Record.State.IsTerminal())
        {
            // Only ended processes are collected; a live one is indexed, not retained.
            return;
        }

        if (state.RecordExists)
        {
            await state.ClearStateAsync();
        }

        state.State = new ProcessRecord();

        // Waiting monitors and log readers find no record and answer npid_not_found.
        _changed.TrySetResult();
        DeactivateOnIdle();
    }

    /// <summary>Not found, saying so when the tenant's retention collected the NPID.</summary>
    private async Task<Nefele.Client.NefeleException> MissingAsync(string tenant) =>
        Nefele.Client.NefeleException.NotFound(Npid, await GrainFactory.Get<ITenantGrain>(tenant).CollectedHintAsync(Npid));

    private async Task<bool> WasCollectedAsync(string tenant) =>
        await GrainFactory.Get<ITenantGrain>(tenant).CollectedHintAsync(Npid) is not null;
}
