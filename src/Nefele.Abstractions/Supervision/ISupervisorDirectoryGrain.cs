using Nefele.Auth;
using Nefele.Client;

namespace Nefele.Supervision;

/// <summary>
/// The supervisors of one tenant (keyed by the tenant's name), persisted; and, under the key
/// <see cref="AllKey"/>, the tenants that have any. The keeper wakes every supervisor through it
/// after a silo is lost, so those that were on that silo activate elsewhere.
/// </summary>
public interface ISupervisorDirectoryGrain : IGrainWithStringKey
{
    /// <summary>The key of the directory of tenants (not a tenant name: tenant names have no '*').</summary>
    public const string AllKey = "*";

    /// <summary>The tenant's supervisors by name.</summary>
    [Access(Role.Viewer, TenantFrom.GrainKey)]
    Task<IReadOnlyList<string>> ListAsync(CancellationToken ct = default);

    Task AddAsync(string name);

    Task RemoveAsync(string name);

    /// <summary>Pings every supervisor listed here (a tenant's directory), or every tenant's directory (the directory of tenants).</summary>
    Task WakeAsync();
}
