using Microsoft.AspNetCore.Authorization;
using Nefele.Auth;
using Nefele.Client;

namespace Nefele.Silo.Auth;

/// <summary>
/// The key must grant at least <see cref="Role"/> in the tenant the route names ({tenant}); with
/// <see cref="ClusterWide"/>, it must be an admin key (or, for <see cref="Role.Viewer"/>, any valid key).
/// </summary>
internal sealed class TenantRoleRequirement(Role role, bool clusterWide) : IAuthorizationRequirement
{
    public Role Role { get; } = role;

    public bool ClusterWide { get; } = clusterWide;
}
