using Nefele.Client;

namespace Nefele.Tenants;

/// <summary>
/// The POSIX identity a tenant's processes run as: the tenant's own unprivileged uid and gid,
/// the same on every node. <see cref="Privileged"/> (set by an admin on the tenant) is the
/// only way a process runs as root.
/// </summary>
/// <param name="Uid">The uid processes run as.</param>
/// <param name="Gid">The gid (and only group) they run as.</param>
/// <param name="Privileged">Root, set by an admin on the tenant.</param>
/// <param name="DefaultImage">The tenant's default image, which a spawn that names none runs from (admission applies it); null: none.</param>
[GenerateSerializer, Immutable]
public sealed record RunAs(
    [property: Id(0)] uint Uid,
    [property: Id(1)] uint Gid,
    [property: Id(2)] bool Privileged,
    [property: Id(3)] string? DefaultImage = null)
{
    /// <summary>Root, for a tenant an admin marked privileged.</summary>
    public static RunAs Root { get; } = new(0, 0, Privileged: true);

    /// <summary>What <paramref name="tenant"/>'s processes run as: root when privileged, else its own uid and gid.</summary>
    public static RunAs Of(TenantInfo tenant) =>
        (tenant.Privileged ? Root : new RunAs(tenant.Uid, tenant.Gid, Privileged: false)) with { DefaultImage = tenant.DefaultImage };
}
