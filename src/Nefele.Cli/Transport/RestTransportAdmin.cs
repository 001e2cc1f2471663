using System.Text.Json;
using Nefele.Auth;
using Nefele.Cli.Json;
using Nefele.Client;
using Nefele.Tenants;

namespace Nefele.Cli.Transport;

/// <summary>The tenant, key and whoami routes of the REST API.</summary>
internal sealed partial class RestTransport : INefeleAdmin
{
    public string Tenant { get; }

    private string KeysPath => tenantPath + "keys";

    public async Task<WhoAmI> WhoAmIAsync(CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Get, "v1/whoami", Repeatable.Yes, ct).ConfigureAwait(false);
        return await ReadJsonAsync(response, NefAdminJsonContext.Default.WhoAmI, ct).ConfigureAwait(false);
    }

    public async Task<TenantInfo> CreateTenantAsync(TenantCreateRequest body, CancellationToken ct)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(body, NefAdminJsonContext.Default.TenantCreateRequest);
        using var response = await SendAsync(HttpMethod.Post, "v1/tenants", Repeatable.No, ct, () => Json(json)).ConfigureAwait(false);
        return await ReadJsonAsync(response, NefAdminJsonContext.Default.TenantInfo, ct).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<TenantInfo>> ListTenantsAsync(CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Get, "v1/tenants", Repeatable.Yes, ct).ConfigureAwait(false);
        return (await ReadJsonAsync(response, NefAdminJsonContext.Default.TenantList, ct).ConfigureAwait(false)).Tenants;
    }

    public async Task RemoveTenantAsync(string name, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Delete, "v1/tenants/" + Uri.EscapeDataString(name), Repeatable.No, ct).ConfigureAwait(false);
    }

    public async Task<CreatedKey> CreateKeyAsync(KeyCreateRequest body, CancellationToken ct)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(body, NefAdminJsonContext.Default.KeyCreateRequest);
        using var response = await SendAsync(HttpMethod.Post, KeysPath, Repeatable.No, ct, () => Json(json)).ConfigureAwait(false);
        return await ReadJsonAsync(response, NefAdminJsonContext.Default.CreatedKey, ct).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ApiKeyInfo>> ListKeysAsync(CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Get, KeysPath, Repeatable.Yes, ct).ConfigureAwait(false);
        return (await ReadJsonAsync(response, NefAdminJsonContext.Default.KeyList, ct).ConfigureAwait(false)).Keys;
    }

    public async Task RevokeKeyAsync(string name, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Delete, KeysPath + "/" + Uri.EscapeDataString(name), Repeatable.No, ct).ConfigureAwait(false);
    }
}
