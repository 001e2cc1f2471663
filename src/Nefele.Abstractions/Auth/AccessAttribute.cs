using Nefele.Client;

namespace Nefele.Auth;

/// <summary>
/// Marks a grain interface method that clients may call, with the least role it needs and where the
/// tenant it acts in comes from. A method without it is cluster-internal: only the silos' own code
/// may call it. The silo's grain call filter enforces this for every call.
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = true)]
public sealed class AccessAttribute(Role role, TenantFrom tenantFrom) : Attribute
{
    public Role Role { get; } = role;

    public TenantFrom TenantFrom { get; } = tenantFrom;
}
