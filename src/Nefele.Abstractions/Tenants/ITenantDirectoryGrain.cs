using Nefele.Auth;
using Nefele.Client;

namespace Nefele.Tenants;

/// <summary>
/// The cluster's tenants (one, keyed <see cref="Key"/>): names, and the uid/gid each was given from
/// the configured range. A uid is never given twice, so files a removed tenant left on shared storage
/// never belong to a new one.
/// </summary>
public interface ITenantDirectoryGrain : IGrainWithStringKey
{
    public const string Key = "cluster";

    /// <summary>Creates a tenant with the next free uid; tenant_exists when the name is taken.</summary>
    [Access(Role.Admin, TenantFrom.Cluster)]
    Task<TenantInfo> CreateAsync(string name, bool privileged, TenantQuotas quotas, CancellationToken ct = default);

    /// <summary>Creates the tenant unless it exists (the silo's own start-up: the default tenant).</summary>
    Task<TenantInfo> EnsureAsync(string name);

    [Access(Role.Admin, TenantFrom.Cluster)]
    Task<IReadOnlyList<TenantInfo>> ListAsync(CancellationToken ct = default);

    /// <summary>Removes a tenant with no live processes and revokes its keys; tenant_not_found, or request_conflict while processes live.</summary>
    [Access(Role.Admin, TenantFrom.Cluster)]
    Task RemoveAsync(string name, CancellationToken ct = default);

    /// <summary>Replaces a tenant's quotas.</summary>
    [Access(Role.Admin, TenantFrom.Cluster)]
    Task<TenantInfo> SetQuotasAsync(string name, TenantQuotas quotas, CancellationToken ct = default);
}
