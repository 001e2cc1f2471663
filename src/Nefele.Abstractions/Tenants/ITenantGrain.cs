namespace Nefele.Tenants;

/// <summary>
/// One tenant: the index of its live NPIDs (what ps walks). Keyed by tenant id.
/// A tenant never sees another tenant's processes: every process call carries the tenant.
/// </summary>
public interface ITenantGrain : IGrainWithStringKey
{
    Task AddAsync(string npid);

    /// <summary>Adds every NPID of one request in one call and one write.</summary>
    Task AddManyAsync(IReadOnlyList<string> npids);

    Task RemoveAsync(string npid);

    /// <summary>Live NPIDs; with <paramref name="includeEnded"/> also those that ended recently (newest kept).</summary>
    Task<IReadOnlyList<string>> ListAsync(bool includeEnded = false);
}
