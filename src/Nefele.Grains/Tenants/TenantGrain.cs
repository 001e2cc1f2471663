using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nefele.Auth;
using Nefele.Client;
using Nefele.Errors;
using Nefele.Nodes;
using Nefele.Processes;
using Nefele.Retention;
using Orleans.Concurrency;
using Orleans.Runtime;

namespace Nefele.Tenants;

/// <summary>
/// One tenant: its record, its keys, its quotas and the index of its live NPIDs, persisted so ps
/// and credentials survive a silo restart in cluster mode. Reentrant with group commit: changes
/// that arrive while a write is under way are written together by the next one, so thousands of
/// processes starting and ending per second cost a few writes, not one each (every caller still
/// returns only once its change is stored). Ended processes and spawn requests are kept by the
/// retention policy, then collected (TenantGrain.Retention.cs). The live index and the retained
/// lists are stored in pages, so a write costs the pages it changed (TenantGrain.Pages.cs).
/// </summary>
[Reentrant]
public sealed partial class TenantGrain(
    [PersistentState("tenant", StorageNames.Default)] IPersistentState<TenantRecord> state,
    TimeProvider time,
    IOptions<RetentionOptions> retention,
    Images.ImageStore images,
    ILogger<TenantGrain> logger) : Grain, ITenantGrain
{
    // A request indexes its NPIDs while they launch, so a process that ends at once can be
    // removed before it was added. Such removals are remembered (boundedly, in memory) and
    // the late add is dropped, so the index never keeps an ended process.
    private const int EarlyRemovalsKept = 4096;
    private readonly HashSet<string> _removedEarly = new(StringComparer.Ordinal);
    private readonly Queue<string> _removedEarlyOrder = new();

    // Admitted requests not yet indexed: they count against the quotas (in memory: a request
    // cut off by a silo restart is retried by its client and admitted again).
    private readonly Dictionary<string, QuotaCharge> _pending = new(StringComparer.Ordinal);

    // What the live processes and the pending requests hold, kept as they change: admission
    // reads it on every request, and summing thousands of charges each time would make the
    // tenant grain the placement bottleneck. Summed once from the record when first needed.
    private QuotaCharge? _charged;
    private QuotaCharge _pendingTotal;
    private double _spawnTokens;
    private long _spawnTokensAt;
    private Task? _writing;
    private bool _dirty;

    private string Name => this.GetPrimaryKeyString();

    private TenantInfo Info => state.State.Info ?? throw new NefeleException(ErrorCodes.TenantNotFound, $"no tenant {Name}");

    public Task<TenantInfo> GetInfoAsync(CancellationToken ct) => Task.FromResult(Info);

    public async Task InitializeAsync(TenantInfo info)
    {
        if (state.State.Info is not null)
        {
            return;
        }

        state.State.Info = info;
        await PersistAsync();
    }

    public async Task<TenantInfo> SetQuotasAsync(TenantQuotas quotas)
    {
        state.State.Info = Info with { Quotas = quotas };
        await PersistAsync();
        return state.State.Info;
    }

    public async Task<TenantInfo> SetDefaultImageAsync(string? image, CancellationToken ct = default)
    {
        var info = Info;
        if (image is not null)
        {
            var reference = Images.ImageReference.Parse(image);
            if (reference.Digest is not null)
            {
                throw NefeleException.Bad($"default image '{image}': name a tag (NAME[:TAG]), not a digest");
            }

            images.Inspect(this.GetPrimaryKeyString(), reference.Name, reference.Tag);
            image = reference.ToString();
        }

        state.State.Info = info with { DefaultImage = image };
        await PersistAsync();
        return state.State.Info;
    }

    public async Task<bool> DeleteAsync()
    {
        if (state.State.Info is null)
        {
            return false;
        }

        if (_npids.Count > 0 || _pending.Count > 0)
        {
            throw new NefeleException(ErrorCodes.RequestConflict,
                $"tenant {Name} still has {_npids.Count + _pending.Values.Sum(p => p.Processes)} live processes; stop them first");
        }

        await Task.WhenAll(state.State.Keys.Values.Select(id => GrainFactory.Get<IApiKeyGrain>(id).RevokeAsync()));
        await CollectAllAsync();
        state.State.Info = null;
        state.State.Keys.Clear();
        _charges.Clear();
        _charged = default(QuotaCharge);
        await PersistAsync();
        return true;
    }

    public Task<RunAs> AdmitAsync(string requestId, IReadOnlyList<ProcessSpec> tasks)
    {
        var info = Info;
        var asked = tasks.Aggregate(default(QuotaCharge), (sum, t) => sum + new QuotaCharge(1, t.CpuMillis, t.MemoryBytes));
        var quotas = info.Quotas;
        var held = Charged + _pendingTotal;
        Check("processes", quotas.Processes, held.Processes, asked.Processes, n => $"{n}");
        Check("cpu", quotas.CpuMillis, held.CpuMillis, asked.CpuMillis, n => $"{n}m");
        Check("memory", quotas.MemoryBytes, held.MemoryBytes, asked.MemoryBytes, n => $"{n} bytes");
        TakeSpawnTokens(quotas.SpawnsPerSecond, asked.Processes);
        EndPending(requestId);
        _pending[requestId] = asked;
        _pendingTotal += asked;
        return Task.FromResult(RunAs.Of(info));
    }

    private QuotaCharge Charged => _charged ??= _charges.Values.Aggregate(default(QuotaCharge), (a, b) => a + b);

    private void EndPending(string requestId)
    {
        if (_pending.Remove(requestId, out var charge))
        {
            _pendingTotal -= charge;
        }
    }

    private void Check(string quota, long limit, long held, long asked, Func<long, string> show)
    {
        if (limit > 0 && held + asked > limit)
        {
            throw new NefeleException(ErrorCodes.QuotaExceeded,
                $"spawn refused: tenant {Name}'s {quota} quota is {show(limit)}; {show(held)} is in use and the request asks {show(asked)}");
        }
    }

    /// <summary>A token bucket holding one second of spawns, refilled continuously (monotonic time).</summary>
    private void TakeSpawnTokens(int perSecond, int asked)
    {
        if (perSecond <= 0)
        {
            return;
        }

        var now = time.GetTimestamp();
        _spawnTokens = _spawnTokensAt == 0
            ? perSecond
            : Math.Min(perSecond, _spawnTokens + (time.GetElapsedTime(_spawnTokensAt, now).TotalSeconds * perSecond));
        _spawnTokensAt = now;
        if (asked > _spawnTokens)
        {
            throw new NefeleException(ErrorCodes.QuotaExceeded,
                $"spawn refused: tenant {Name}'s spawn rate quota is {perSecond} per second; the request asks {asked} and {Math.Floor(_spawnTokens)} may start now");
        }

        _spawnTokens -= asked;
    }

    public Task ReleaseAdmissionAsync(string requestId)
    {
        EndPending(requestId);
        return Task.CompletedTask;
    }

    public async Task<NewApiKey> CreateKeyAsync(string name, Role role, DateTimeOffset? expiresAt, CancellationToken ct)
    {
        _ = Info;
        Validation.Names.ValidateKeyName(name);
        if (role is not (Role.Owner or Role.Member or Role.Viewer))
        {
            throw NefeleException.Bad($"role {role} cannot be given to a tenant key (allowed: owner, member, viewer)");
        }

        if (expiresAt is { } at && at <= time.GetUtcNow())
        {
            throw NefeleException.Bad($"expiry {at:O} is not in the future");
        }

        if (state.State.Keys.ContainsKey(name))
        {
            throw new NefeleException(ErrorCodes.KeyExists, $"tenant {Name} already has a key named {name}");
        }

        var (token, id, hash) = ApiKeys.Create();
        var record = new ApiKeyRecord
        {
            Id = id,
            Name = name,
            Tenant = Name,
            Role = role,
            SecretHash = hash,
            CreatedAt = time.GetUtcNow(),
            ExpiresAt = expiresAt,
        };
        if (!await GrainFactory.Get<IApiKeyGrain>(id).CreateAsync(record))
        {
            throw new NefeleException(ErrorCodes.InternalError, "key id collision; try again");
        }

        state.State.Keys[name] = id;
        await PersistAsync();
        return new NewApiKey { Info = record.ToInfo(), Token = token };
    }

    public async Task<IReadOnlyList<ApiKeyInfo>> ListKeysAsync(CancellationToken ct)
    {
        _ = Info;
        var records = await Task.WhenAll(state.State.Keys.Values.Select(id => GrainFactory.Get<IApiKeyGrain>(id).GetAsync()));
        return records.OfType<ApiKeyRecord>().Select(r => r.ToInfo()).OrderBy(k => k.Name, StringComparer.Ordinal).ToArray();
    }

    public async Task RevokeKeyAsync(string name, CancellationToken ct)
    {
        _ = Info;
        if (!state.State.Keys.Remove(name, out var id))
        {
            throw new NefeleException(ErrorCodes.KeyNotFound, $"tenant {Name} has no key named {name}");
        }

        await GrainFactory.Get<IApiKeyGrain>(id).RevokeAsync();
        await PersistAsync();
    }

    public async Task AddAsync(string npid)
    {
        if (!_removedEarly.Remove(npid) && IndexAdd(npid, null))
        {
            await PersistAsync();
        }
    }

    public async Task AddManyAsync(string requestId, IReadOnlyList<(string Npid, long CpuMillis, long MemoryBytes)> npids)
    {
        EndPending(requestId);
        Retain(_requests, requestId);
        foreach (var (npid, cpu, memory) in npids)
        {
            if (!_removedEarly.Remove(npid))
            {
                IndexAdd(npid, new QuotaCharge(1, cpu, memory));
            }
        }

        // Written even when every process ended already: the request id is kept too.
        await PersistAsync();
    }

    public async Task RemoveAsync(string npid)
    {
        // Kept from its end, indexed or not: retention is what removes its record later.
        Retain(_ended, npid);
        if (!IndexRemove(npid) && _removedEarly.Add(npid))
        {
            _removedEarlyOrder.Enqueue(npid);
            while (_removedEarlyOrder.Count > EarlyRemovalsKept)
            {
                _removedEarly.Remove(_removedEarlyOrder.Dequeue());
            }
        }

        await PersistAsync();
    }

    private async Task PersistAsync()
    {
        _dirty = true;
        while (_dirty)
        {
            if (_writing is { IsCompleted: false } inFlight)
            {
                // Written by this write if it has not begun (see WriteAsync), else by the next one.
                await inFlight;
                continue;
            }

            var write = WriteAsync();
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

    /// <summary>
    /// One write of the record. It first lets the calls that have already arrived make their
    /// changes, so they join it: a store that answers at once (the embedded default copies the
    /// record in memory) would otherwise never have a write in flight to join, and every start
    /// and end of a process would copy the whole record.
    /// </summary>
    private async Task WriteAsync()
    {
        await Task.Yield();
        _dirty = false;
        var writing = System.Diagnostics.Stopwatch.GetTimestamp();
        await WritePagesAsync(TakeDirtyPages());
        await state.WriteStateAsync();
        SpawnHops.Record("7 tenant.write", writing);
    }

    public Task<IReadOnlyList<string>> ListAsync(bool includeEnded = false) =>
        Task.FromResult<IReadOnlyList<string>>(
            (includeEnded
                ? _npids.Concat(_ended.Items.Skip(Math.Max(0, _ended.Count - TenantRecord.EndedListed)).Select(e => e.Id)).Distinct(StringComparer.Ordinal)
                : _npids)
                .Order(StringComparer.Ordinal).ToArray());

    public async Task<IReadOnlyList<ProcessInfo>> PsAsync(bool all, CancellationToken ct)
    {
        var npids = await ListAsync(all);
        // A process whose end its grain has recorded is not live, even before this grain hears of it
        // (monitors are told first): ps agrees with what a monitor has just reported.
        var infos = (await Task.WhenAll(npids.Select(GetForListingAsync))).OfType<ProcessInfo>()
            .Where(i => all || !i.State.IsTerminal())
            .ToList();
        var usage = await Task.WhenAll(infos.Where(i => i.Node is not null).Select(i => i.Node!).Distinct()
            .Select(async node =>
            {
                try
                {
                    // Bounded: a node that just failed may not answer for the length of a call's
                    // timeout (30 s), and ps must not wait that long for a nicety.
                    return await GrainFactory.Get<INodeGrain>(node).GetUsageAsync().WaitAsync(PsUsageWait);
                }
                catch (Exception)
                {
                    // Usage is a nicety; a node that does not answer (in time) still has its rows listed.
                    return new Dictionary<string, (long CpuNs, long MemoryBytes)>();
                }
            }));
        var merged = usage.SelectMany(u => u).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        return infos
            .Select(i => merged.TryGetValue(i.Npid, out var u) ? i with { CpuUsageNs = u.CpuNs, MemoryUsageBytes = u.MemoryBytes } : i)
            .OrderBy(i => i.Npid, StringComparer.Ordinal) // NPIDs sort in creation order
            .ToList();
    }

    /// <summary>How long ps waits for a node's usage figures before listing its rows without them.</summary>
    private static readonly TimeSpan PsUsageWait = TimeSpan.FromSeconds(2);

    /// <summary>One row for ps; a call that fails because a silo just died is tried once more (the grain reactivates).</summary>
    private async Task<ProcessInfo?> GetForListingAsync(string npid)
    {
        try
        {
            return await GrainFactory.Get<IProcessGrain>(npid).GetAsync(Name);
        }
        catch (Exception e) when (Transient.Is(e))
        {
            return await GrainFactory.Get<IProcessGrain>(npid).GetAsync(Name);
        }
    }
}
