using Nefele.Client;

namespace Nefele.Tenants;

/// <summary>
/// The POSIX identity a tenant's processes run as: the tenant's own unprivileged uid and gid,
/// the same on every node. <see cref="Privileged"/> (set by an admin on the tenant) is the
/// only way a process runs as root.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record RunAs(
    [property: Id(0)] uint Uid,
    [property: Id(1)] uint Gid,
    [property: Id(2)] bool Privileged)
{
    /// <summary>Root, for a tenant an admin marked privileged.</summary>
    public static RunAs Root { get; } = new(0, 0, Privileged: true);

    /// <summary>What <paramref name="tenant"/>'s processes run as: root when privileged, else its own uid and gid.</summary>
    public static RunAs Of(TenantInfo tenant) => tenant.Privileged ? Root : new RunAs(tenant.Uid, tenant.Gid, Privileged: false);
}
