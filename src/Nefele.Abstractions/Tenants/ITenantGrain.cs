using Nefele.Auth;
using Nefele.Client;
using Nefele.Processes;

namespace Nefele.Tenants;

/// <summary>
/// One tenant, keyed by its name: its record (uid, quotas), its API keys by name, and the index of
/// its live NPIDs (what ps walks). A tenant never sees another tenant's processes: every process
/// call carries the tenant, and the silo's call filter checks the caller's key grants it.
/// </summary>
public interface ITenantGrain : IGrainWithStringKey
{
    /// <summary>The tenant's record; tenant_not_found when it does not exist.</summary>
    [Access(Role.Viewer, TenantFrom.GrainKey)]
    Task<TenantInfo> GetInfoAsync(CancellationToken ct = default);

    /// <summary>Stores the record the tenant directory made (once).</summary>
    Task InitializeAsync(TenantInfo info);

    /// <summary>Replaces the quotas (from the tenant directory).</summary>
    Task<TenantInfo> SetQuotasAsync(TenantQuotas quotas);

    /// <summary>
    /// Deletes the record and revokes every key; refused (request_conflict) while processes live.
    /// Returns false when there was no such tenant.
    /// </summary>
    Task<bool> DeleteAsync();

    /// <summary>
    /// Admission, before anything is placed: the identity to run <paramref name="tasks"/> as, once
    /// the tenant exists and the request fits its quotas (tenant_not_found, quota_exceeded otherwise).
    /// What is admitted counts against the quotas, under <paramref name="requestId"/> until
    /// <see cref="AddManyAsync"/> indexes its processes or <see cref="ReleaseAdmissionAsync"/> drops it.
    /// </summary>
    Task<RunAs> AdmitAsync(string requestId, IReadOnlyList<ProcessSpec> tasks);

    /// <summary>A request admitted but not launched (rejected at placement): its share of the quotas is free again.</summary>
    Task ReleaseAdmissionAsync(string requestId);

    /// <summary>
    /// Sets the image a spawn that names none runs from (<c>NAME[:TAG]</c>, which must exist:
    /// image_not_found otherwise), or clears it with null; answers the record.
    /// </summary>
    [Access(Role.Owner, TenantFrom.GrainKey)]
    Task<TenantInfo> SetDefaultImageAsync(string? image, CancellationToken ct = default);

    /// <summary>Creates a key of the tenant (role owner, member or viewer); the token is in the answer only.</summary>
    [Access(Role.Owner, TenantFrom.GrainKey)]
    Task<NewApiKey> CreateKeyAsync(string name, Role role, DateTimeOffset? expiresAt, CancellationToken ct = default);

    [Access(Role.Owner, TenantFrom.GrainKey)]
    Task<IReadOnlyList<ApiKeyInfo>> ListKeysAsync(CancellationToken ct = default);

    /// <summary>Revokes the key of that name (key_not_found when there is none).</summary>
    [Access(Role.Owner, TenantFrom.GrainKey)]
    Task RevokeKeyAsync(string name, CancellationToken ct = default);

    Task AddAsync(string npid);

    /// <summary>
    /// Adds every NPID of one admitted request in one call and one write; their CPU and memory
    /// count against the quotas until they end.
    /// </summary>
    Task AddManyAsync(string requestId, IReadOnlyList<(string Npid, long CpuMillis, long MemoryBytes)> npids);

    Task RemoveAsync(string npid);

    /// <summary>Collects the ended processes and spawn requests past retention now (a timer does it too).</summary>
    Task CollectAsync();

    /// <summary>Why <paramref name="npid"/> is missing when retention collected it (an error's hint); else null.</summary>
    [Access(Role.Viewer, TenantFrom.GrainKey)]
    Task<string?> CollectedHintAsync(string npid);

    /// <summary>Live NPIDs; with <paramref name="includeEnded"/> also those that ended recently (newest kept).</summary>
    [Access(Role.Viewer, TenantFrom.GrainKey)]
    Task<IReadOnlyList<string>> ListAsync(bool includeEnded = false);

    /// <summary>
    /// Every live process of the tenant, on every node, with measured usage; with
    /// <paramref name="all"/> also those that ended recently, as ps -a.
    /// </summary>
    [Access(Role.Viewer, TenantFrom.GrainKey)]
    Task<IReadOnlyList<ProcessInfo>> PsAsync(bool all, CancellationToken ct = default);
}
