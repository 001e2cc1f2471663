using Nefele.Tenants;

namespace Nefele.Silo.Api;

/// <summary>Body of POST /v1/tenants.</summary>
public sealed record TenantBody
{
    public required string Name { get; init; }

    /// <summary>Run the tenant's processes as root. Only for tenants that must manage the node itself.</summary>
    public bool Privileged { get; init; }

    public TenantQuotas? Quotas { get; init; }
}
