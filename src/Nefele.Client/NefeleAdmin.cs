using Nefele.Auth;
using Nefele.Errors;
using Nefele.Tenants;

namespace Nefele.Client;

/// <summary>
/// Cluster administration from C#: tenants (an admin key) and a tenant's keys (its owner or an
/// admin). The same grains and checks as the REST routes and nef's tenant and key commands.
/// </summary>
public sealed class NefeleAdmin(IGrainFactory grains)
{
    private ITenantDirectoryGrain Directory => grains.GetGrain<ITenantDirectoryGrain>(ITenantDirectoryGrain.Key);

    public Task<TenantInfo> CreateTenantAsync(string name, bool privileged = false, TenantQuotas? quotas = null)
    {
        Validation.Names.ValidateTenantName(name);
        return Directory.CreateAsync(name, privileged, quotas ?? new TenantQuotas());
    }

    /// <summary>Creates the tenant unless one of that name exists; answers its record either way.</summary>
    public async Task<TenantInfo> EnsureTenantAsync(string name)
    {
        try
        {
            return await CreateTenantAsync(name);
        }
        catch (NefeleException e) when (e.Code == ErrorCodes.TenantExists)
        {
            return await grains.GetGrain<ITenantGrain>(name).GetInfoAsync();
        }
    }

    public Task<IReadOnlyList<TenantInfo>> ListTenantsAsync() => Directory.ListAsync();

    public Task RemoveTenantAsync(string name) => Directory.RemoveAsync(name);

    public Task<TenantInfo> SetQuotasAsync(string name, TenantQuotas quotas) => Directory.SetQuotasAsync(name, quotas);

    /// <summary>Creates a key of <paramref name="tenant"/>; the answer's token is shown this once.</summary>
    public Task<NewApiKey> CreateKeyAsync(string tenant, string name, Role role = Role.Member, DateTimeOffset? expiresAt = null)
    {
        Validation.Names.ValidateTenantName(tenant);
        return grains.GetGrain<ITenantGrain>(tenant).CreateKeyAsync(name, role, expiresAt);
    }

    public Task<IReadOnlyList<ApiKeyInfo>> ListKeysAsync(string tenant) => grains.GetGrain<ITenantGrain>(tenant).ListKeysAsync();

    public Task RevokeKeyAsync(string tenant, string name) => grains.GetGrain<ITenantGrain>(tenant).RevokeKeyAsync(name);
}
