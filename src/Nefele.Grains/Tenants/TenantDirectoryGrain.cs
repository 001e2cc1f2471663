using Microsoft.Extensions.Options;
using Nefele.Client;
using Nefele.Errors;
using Orleans.Runtime;

namespace Nefele.Tenants;

/// <summary>The cluster's tenants and their uids (see <see cref="ITenantDirectoryGrain"/>).</summary>
public sealed class TenantDirectoryGrain(
    [PersistentState("tenants", StorageNames.Default)] IPersistentState<TenantDirectoryRecord> state,
    IOptions<TenantOptions> options,
    TimeProvider time) : Grain, ITenantDirectoryGrain
{
    public async Task<TenantInfo> CreateAsync(string name, bool privileged, TenantQuotas quotas, CancellationToken ct)
    {
        Validation.Names.ValidateTenantName(name);
        ValidateQuotas(quotas);
        if (state.State.Tenants.ContainsKey(name))
        {
            throw new NefeleException(ErrorCodes.TenantExists, $"tenant {name} exists already");
        }

        var range = options.Value;
        if (state.State.UidsGiven >= range.UidRangeSize)
        {
            throw new NefeleException(ErrorCodes.QuotaExceeded,
                $"no uid left for a new tenant: all {range.UidRangeSize} of Tenants:UidRangeStart..+UidRangeSize ({range.UidRangeStart}..{range.UidRangeStart + range.UidRangeSize - 1}) were given");
        }

        var uid = (uint)(range.UidRangeStart + state.State.UidsGiven);
        var info = new TenantInfo { Name = name, Uid = uid, Gid = uid, Privileged = privileged, CreatedAt = time.GetUtcNow(), Quotas = quotas };
        state.State.UidsGiven++;
        state.State.Tenants[name] = info;
        await state.WriteStateAsync(CancellationToken.None); // once begun, finished: a caller giving up does not undo it
        await GrainFactory.GetGrain<ITenantGrain>(name).InitializeAsync(info);
        return info;
    }

    public async Task<TenantInfo> EnsureAsync(string name)
    {
        if (state.State.Tenants.TryGetValue(name, out var info))
        {
            // Re-initializing is a no-op for a tenant that has its record; it repairs one whose write was lost.
            await GrainFactory.GetGrain<ITenantGrain>(name).InitializeAsync(info);
            return info;
        }

        return await CreateAsync(name, privileged: false, new TenantQuotas(), CancellationToken.None);
    }

    public Task<IReadOnlyList<TenantInfo>> ListAsync(CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<TenantInfo>>(state.State.Tenants.Values.OrderBy(t => t.Name, StringComparer.Ordinal).ToArray());

    public async Task RemoveAsync(string name, CancellationToken ct)
    {
        if (!state.State.Tenants.ContainsKey(name))
        {
            throw new NefeleException(ErrorCodes.TenantNotFound, $"no tenant {name}");
        }

        await GrainFactory.GetGrain<ITenantGrain>(name).DeleteAsync();
        state.State.Tenants.Remove(name);
        await state.WriteStateAsync(CancellationToken.None); // once begun, finished: a caller giving up does not undo it
    }

    public async Task<TenantInfo> SetQuotasAsync(string name, TenantQuotas quotas, CancellationToken ct)
    {
        ValidateQuotas(quotas);
        if (!state.State.Tenants.ContainsKey(name))
        {
            throw new NefeleException(ErrorCodes.TenantNotFound, $"no tenant {name}");
        }

        var info = await GrainFactory.GetGrain<ITenantGrain>(name).SetQuotasAsync(quotas);
        state.State.Tenants[name] = info;
        await state.WriteStateAsync(CancellationToken.None); // once begun, finished: a caller giving up does not undo it
        return info;
    }

    private static void ValidateQuotas(TenantQuotas quotas)
    {
        if (quotas.CpuMillis < 0 || quotas.MemoryBytes < 0 || quotas.Processes < 0 || quotas.SpawnsPerSecond < 0)
        {
            throw NefeleException.Bad("quotas must be 0 (no limit) or positive: cpuMillis, memoryBytes, processes, spawnsPerSecond");
        }
    }
}
