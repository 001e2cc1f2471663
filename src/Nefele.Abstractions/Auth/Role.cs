namespace Nefele.Client;

/// <summary>
/// What a credential may do. Ordered: each role includes the ones below it.
/// Viewer reads (ps, monitor, logs); Member also spawns and signals; Owner also manages the
/// tenant's keys; Admin is cluster-wide (tenants, nodes, hollow nodes, quotas) and owns every tenant.
/// </summary>
[GenerateSerializer, System.Text.Json.Serialization.JsonConverter(typeof(Auth.RoleJsonConverter))]
public enum Role
{
    /// <summary>Reads: ps, monitor, logs.</summary>
    Viewer = 1,
    /// <summary>Also spawns and signals.</summary>
    Member = 2,
    /// <summary>Also manages the tenant's keys.</summary>
    Owner = 3,
    /// <summary>Cluster-wide: tenants, nodes, quotas; owns every tenant.</summary>
    Admin = 4,
}
