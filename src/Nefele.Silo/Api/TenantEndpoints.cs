using Nefele.Auth;
using Nefele.Client;
using Nefele.Errors;
using Nefele.Silo.Auth;
using Nefele.Tenants;

namespace Nefele.Silo.Api;

/// <summary>Tenants (admin), a tenant's keys (its owners) and whoami (any key).</summary>
internal static class TenantEndpoints
{
    public static void MapTenantEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/whoami", (HttpContext http) =>
        {
            var principal = (Principal)http.Items[ApiKeyAuthenticationHandler.Items.Principal]!;
            return Results.Ok(new WhoAmI(principal.KeyName, principal.Tenant, principal.Role));
        }).WithTags("tenants").RequireAuthorization(Policies.AnyKey)
            .Produces<WhoAmI>()
            .Operation("whoami", "The key this request was made with: its name, tenant and role");

        var tenants = app.MapGroup("/v1/tenants").WithTags("tenants");
        tenants.MapPost("", async (TenantCreateRequest body, IGrainFactory grains) =>
        {
            var info = await Directory(grains).CreateAsync(body.Name, body.Privileged, body.Quotas ?? new TenantQuotas());
            return Results.Created($"/v1/tenants/{info.Name}", info);
        }).RequireAuthorization(Policies.Admin)
            .Produces<TenantInfo>(StatusCodes.Status201Created)
            .Operation("createTenant", "Create a tenant (admin); it gets its own uid and gid, the same on every node", [.. ApiDocs.Body, 403, 409]);

        tenants.MapGet("", async (IGrainFactory grains) => Results.Ok(new TenantList(await Directory(grains).ListAsync())))
            .RequireAuthorization(Policies.Admin)
            .Produces<TenantList>()
            .Operation("listTenants", "Every tenant (admin)", 403);

        tenants.MapGet("/{tenant}", async (string tenant, IGrainFactory grains) =>
            Results.Ok(await grains.GetGrain<ITenantGrain>(Valid(tenant)).GetInfoAsync()))
            .RequireAuthorization(Policies.TenantViewer)
            .Produces<TenantInfo>()
            .Operation("getTenant", "One tenant: its uid, gid and quotas", 400, 403, 404);

        tenants.MapDelete("/{tenant}", async (string tenant, IGrainFactory grains) =>
        {
            await Directory(grains).RemoveAsync(Valid(tenant));
            return Results.NoContent();
        }).RequireAuthorization(Policies.Admin)
            .Produces(StatusCodes.Status204NoContent)
            .Operation("removeTenant", "Remove a tenant with no live processes, revoking its keys (admin)", 400, 403, 404, 409);

        tenants.MapPut("/{tenant}/quotas", async (string tenant, TenantQuotas body, IGrainFactory grains) =>
            Results.Ok(await Directory(grains).SetQuotasAsync(Valid(tenant), body)))
            .RequireAuthorization(Policies.Admin)
            .Produces<TenantInfo>()
            .Operation("setQuotas", "Set a tenant's quotas (admin); 0 means no limit", [.. ApiDocs.Body, 403, 404]);

        tenants.MapPost("/{tenant}/keys", async (string tenant, KeyCreateRequest body, IGrainFactory grains, TimeProvider time) =>
        {
            if (body.ExpiresInSeconds is <= 0)
            {
                throw NefeleException.Bad($"expiresInSeconds {body.ExpiresInSeconds} must be positive");
            }

            DateTimeOffset? expires = body.ExpiresInSeconds is { } s ? time.GetUtcNow().AddSeconds(s) : null;
            var key = await grains.GetGrain<ITenantGrain>(Valid(tenant)).CreateKeyAsync(body.Name, body.Role, expires);
            return Results.Created($"/v1/tenants/{tenant}/keys/{key.Info.Name}", new CreatedKey(key.Token, key.Info.Name, key.Info.Tenant, key.Info.Role, key.Info.ExpiresAt));
        }).RequireAuthorization(Policies.TenantOwner)
            .Produces<CreatedKey>(StatusCodes.Status201Created)
            .Operation("createKey", "Create an API key of the tenant; the answer holds the secret, shown this once", [.. ApiDocs.Body, 403, 404, 409]);

        tenants.MapGet("/{tenant}/keys", async (string tenant, IGrainFactory grains) =>
            Results.Ok(new KeyList(await grains.GetGrain<ITenantGrain>(Valid(tenant)).ListKeysAsync())))
            .RequireAuthorization(Policies.TenantOwner)
            .Produces<KeyList>()
            .Operation("listKeys", "The tenant's keys: names, roles, expiry, revocation (never secrets)", 400, 403, 404);

        tenants.MapDelete("/{tenant}/keys/{name}", async (string tenant, string name, IGrainFactory grains) =>
        {
            await grains.GetGrain<ITenantGrain>(Valid(tenant)).RevokeKeyAsync(name);
            return Results.NoContent();
        }).RequireAuthorization(Policies.TenantOwner)
            .Produces(StatusCodes.Status204NoContent)
            .Operation("revokeKey", "Revoke a key; every node refuses it within a second", 400, 403, 404);
    }

    private static ITenantDirectoryGrain Directory(IGrainFactory grains) => grains.GetGrain<ITenantDirectoryGrain>(ITenantDirectoryGrain.Key);

    private static string Valid(string tenant)
    {
        Validation.Names.ValidateTenantName(tenant);
        return tenant;
    }
}
