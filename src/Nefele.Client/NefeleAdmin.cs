using Nefele.Tenants;

namespace Nefele.Client;

/// <summary>
/// Cluster administration: tenants (an admin key) and a tenant's keys (its owner or an admin).
/// The same grains and checks as the REST routes and nef's tenant and key commands.
/// </summary>
public sealed class NefeleAdmin
{
    private readonly IGrainFactory _grains;

    internal NefeleAdmin(IGrainFactory grains) => _grains = grains;

    private ITenantDirectoryGrain Directory => _grains.GetGrain<ITenantDirectoryGrain>(ITenantDirectoryGrain.Key);

    /// <summary>Creates a tenant; fails with <see cref="ErrorCodes.TenantExists"/> when one of that name exists.</summary>
    /// <param name="name">The tenant's name, a DNS label (1-63 of a-z, 0-9 and '-').</param>
    /// <param name="privileged">Whether the tenant's processes run as root (never the default).</param>
    /// <param name="quotas">Its quotas; null: none.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>The new tenant's record, with the uid and gid its processes run as.</returns>
    public Task<TenantInfo> CreateTenantAsync(string name, bool privileged = false, TenantQuotas? quotas = null, CancellationToken ct = default)
    {
        Validation.Names.ValidateTenantName(name);
        return Directory.CreateAsync(name, privileged, quotas ?? new TenantQuotas(), ct);
    }

    /// <summary>Creates the tenant unless one of that name exists; answers its record either way.</summary>
    /// <param name="name">The tenant's name.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>The tenant's record.</returns>
    public async Task<TenantInfo> EnsureTenantAsync(string name, CancellationToken ct = default)
    {
        try
        {
            return await CreateTenantAsync(name, ct: ct);
        }
        catch (NefeleException e) when (e.Code == ErrorCodes.TenantExists)
        {
            return await _grains.GetGrain<ITenantGrain>(name).GetInfoAsync(ct);
        }
    }

    /// <summary>Every tenant of the cluster.</summary>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>Their records.</returns>
    public Task<IReadOnlyList<TenantInfo>> ListTenantsAsync(CancellationToken ct = default) => Directory.ListAsync(ct);

    /// <summary>Removes a tenant; fails with <see cref="ErrorCodes.TenantNotFound"/> when there is none.</summary>
    /// <param name="name">The tenant's name.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>When it is removed.</returns>
    public Task RemoveTenantAsync(string name, CancellationToken ct = default) => Directory.RemoveAsync(name, ct);

    /// <summary>Replaces a tenant's quotas (0 is unlimited); admitted work is not undone.</summary>
    /// <param name="name">The tenant's name.</param>
    /// <param name="quotas">The new quotas.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>The tenant's record with its new quotas.</returns>
    public Task<TenantInfo> SetQuotasAsync(string name, TenantQuotas quotas, CancellationToken ct = default) => Directory.SetQuotasAsync(name, quotas, ct);

    /// <summary>Creates a key of <paramref name="tenant"/>; the answer's token is shown this once.</summary>
    /// <param name="tenant">The tenant the key belongs to.</param>
    /// <param name="name">The key's name, unique in the tenant.</param>
    /// <param name="role">What the key may do.</param>
    /// <param name="expiresAt">When it stops working; null: never.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>The key's record and its token.</returns>
    public Task<NewApiKey> CreateKeyAsync(string tenant, string name, Role role = Role.Member, DateTimeOffset? expiresAt = null, CancellationToken ct = default)
    {
        Validation.Names.ValidateTenantName(tenant);
        return _grains.GetGrain<ITenantGrain>(tenant).CreateKeyAsync(name, role, expiresAt, ct);
    }

    /// <summary>The keys of <paramref name="tenant"/> (never their tokens).</summary>
    /// <param name="tenant">The tenant's name.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>Their records, revoked ones included.</returns>
    public Task<IReadOnlyList<ApiKeyInfo>> ListKeysAsync(string tenant, CancellationToken ct = default)
    {
        Validation.Names.ValidateTenantName(tenant);
        return _grains.GetGrain<ITenantGrain>(tenant).ListKeysAsync(ct);
    }

    /// <summary>Revokes a key: the silos refuse it from the next call on.</summary>
    /// <param name="tenant">The tenant's name.</param>
    /// <param name="name">The key's name.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>When it is revoked.</returns>
    public Task RevokeKeyAsync(string tenant, string name, CancellationToken ct = default)
    {
        Validation.Names.ValidateTenantName(tenant);
        return _grains.GetGrain<ITenantGrain>(tenant).RevokeKeyAsync(name, ct);
    }
}
