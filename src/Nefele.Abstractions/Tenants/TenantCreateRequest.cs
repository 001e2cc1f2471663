using Nefele.Client;

namespace Nefele.Tenants;

/// <summary>Body of POST /v1/tenants (nef tenant create).</summary>
public sealed record TenantCreateRequest
{
    public required string Name { get; init; }

    /// <summary>Run the tenant's processes as root. Only for tenants that must manage the node itself.</summary>
    public bool Privileged { get; init; }

    public TenantQuotas? Quotas { get; init; }
}
