namespace Nefele.Client;

/// <summary>
/// What a credential may do. Ordered: each role includes the ones below it.
/// Viewer reads (ps, monitor, logs); Member also spawns and signals; Owner also manages the
/// tenant's keys; Admin is cluster-wide (tenants, nodes, hollow nodes, quotas) and owns every tenant.
/// </summary>
[GenerateSerializer, System.Text.Json.Serialization.JsonConverter(typeof(Auth.RoleJsonConverter))]
public enum Role
{
    Viewer = 1,
    Member = 2,
    Owner = 3,
    Admin = 4,
}
