using Nefele.Client;

namespace Nefele.Auth;

/// <summary>Who a valid credential speaks for: one tenant with a role, or the whole cluster (admin).</summary>
[GenerateSerializer, Immutable]
public sealed record Principal(
    [property: Id(0)] string KeyId,
    [property: Id(1)] string KeyName,
    [property: Id(2)] string? Tenant,
    [property: Id(3)] Role Role)
{
    public bool IsAdmin => Role == Role.Admin;

    /// <summary>True when this principal may act in <paramref name="tenant"/> with at least <paramref name="needed"/>.</summary>
    public bool Grants(string tenant, Role needed) =>
        IsAdmin || (needed != Role.Admin && string.Equals(Tenant, tenant, StringComparison.Ordinal) && Role >= needed);
}
