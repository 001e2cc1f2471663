using Nefele.Client;

namespace Nefele.Tenants;

/// <summary>Answer of GET /v1/tenants.</summary>
public sealed record TenantList(IReadOnlyList<TenantInfo> Tenants);
