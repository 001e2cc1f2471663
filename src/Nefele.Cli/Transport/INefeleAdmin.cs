using Nefele.Auth;
using Nefele.Client;
using Nefele.Tenants;

namespace Nefele.Cli.Transport;

/// <summary>Tenant and key management and whoami: through the REST API only (a process acts only within its own tenant).</summary>
internal interface INefeleAdmin
{
    /// <summary>The tenant the command acts for (--tenant, $NEFELE_TENANT, else "default").</summary>
    string Tenant { get; }

    Task<WhoAmI> WhoAmIAsync(CancellationToken ct);

    Task<TenantInfo> CreateTenantAsync(TenantCreateRequest request, CancellationToken ct);

    Task<IReadOnlyList<TenantInfo>> ListTenantsAsync(CancellationToken ct);

    Task RemoveTenantAsync(string name, CancellationToken ct);

    Task<CreatedKey> CreateKeyAsync(KeyCreateRequest request, CancellationToken ct);

    Task<IReadOnlyList<ApiKeyInfo>> ListKeysAsync(CancellationToken ct);

    Task RevokeKeyAsync(string name, CancellationToken ct);
}
