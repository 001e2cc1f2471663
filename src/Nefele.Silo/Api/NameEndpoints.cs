using Nefele.Client;
using Nefele.Auth;
using Nefele.Errors;
using Nefele.Messaging;
using Nefele.Validation;

namespace Nefele.Silo.Api;

/// <summary>The tenant's named services: names and service ids ("#80" is %2380 in a path), groups, topics.</summary>
internal static class NameEndpoints
{
    public static void MapNameEndpoints(this IEndpointRouteBuilder app)
    {
        var tenants = app.MapGroup("/v1/tenants/{tenant}").WithTags("names");

        tenants.MapGet("/names", async (string tenant, string? prefix, IGrainFactory grains) =>
            Results.Ok(new NameList(await new NefeleTenant(grains, tenant).ListNamesAsync(prefix))))
            .RequireAuthorization(Auth.Policies.TenantViewer)
            .Produces<NameList>()
            .Operation("listNames", "The tenant's names and service ids starting with 'prefix', sorted, each with its holders in registration order", 400, 403);

        tenants.MapGet("/names/{name}", async (string tenant, string name, string? wait, IGrainFactory grains, HttpContext http) =>
            Results.Ok(await new NefeleTenant(grains, tenant).WaitForNameEntryAsync(name, Wait(wait), http.RequestAborted)))
            .RequireAuthorization(Auth.Policies.TenantViewer)
            .Produces<NameEntry>()
            .WithDescription("Without 'wait': the entry, or 404 name_not_found when nobody holds the name. With wait=<duration> (\"10s\", \"250ms\"; at most 10 s per call): waits for a registration, then 408 timed_out.")
            .Operation("getName", "One name with its holders, waiting up to 'wait' for it to be registered", 400, 403, 404, 408);

        tenants.MapPut("/names/{name}", async (string tenant, string name, RegisterBody body, IGrainFactory grains, HttpContext http) =>
        {
            var names = new NefeleTenant(grains, tenant);
            var holder = body.Npid;
            if (string.IsNullOrEmpty(holder))
            {
                // The caller's own mailbox (GET /mailbox), opened so that its drop takes the name with it.
                holder = MailboxAddress.ForKey(tenant, ((Principal)http.Items[Auth.ApiKeyAuthenticationHandler.Items.Principal]!).KeyName);
                await grains.GetGrain<IMailboxGrain>(holder).OpenAsync(tenant);
            }

            return Results.Ok(new NameHolders(await names.RegisterAsync(name, holder)));
        }).RequireAuthorization(Auth.Policies.TenantMember)
            .Produces<NameHolders>()
            .WithDescription("Registers a live process of the tenant, an open external mailbox of the tenant, or (no npid) the caller's own mailbox (GET /mailbox) under the name; several holders form a group. The name dies with its holder. Registering again changes nothing.")
            .Operation("registerName", "Register a holder of a name or service id", [.. ApiDocs.Body, 403, 404, 409, 429]);

        tenants.MapDelete("/names/{name}", async (string tenant, string name, string? npid, IGrainFactory grains) =>
        {
            await new NefeleTenant(grains, tenant).UnregisterAsync(name, Required(npid));
            return Results.NoContent();
        }).RequireAuthorization(Auth.Policies.TenantMember)
            .Produces(StatusCodes.Status204NoContent)
            .Operation("unregisterName", "Remove the holder 'npid' of a name (404 name_not_found when it does not hold it)", 400, 403, 404);

        tenants.MapGet("/topics", async (string tenant, string? prefix, IGrainFactory grains) =>
            Results.Ok(new NameList(await new NefeleTenant(grains, tenant).ListTopicsAsync(prefix))))
            .RequireAuthorization(Auth.Policies.TenantViewer)
            .Produces<NameList>()
            .Operation("listTopics", "The tenant's topics starting with 'prefix', sorted, each with its subscribers", 400, 403);

        tenants.MapPut("/topics/{topic}/subscribers/{npid}", async (string tenant, string topic, string npid, IGrainFactory grains) =>
        {
            await new NefeleTenant(grains, tenant).SubscribeAsync(topic, npid);
            return Results.NoContent();
        }).RequireAuthorization(Auth.Policies.TenantMember)
            .Produces(StatusCodes.Status204NoContent)
            .Operation("subscribeTopic", "Subscribe a live process of the tenant (or an open external mailbox of the tenant) to a topic", 400, 403, 404, 409, 429);

        tenants.MapDelete("/topics/{topic}/subscribers/{npid}", async (string tenant, string topic, string npid, IGrainFactory grains) =>
        {
            await new NefeleTenant(grains, tenant).UnsubscribeAsync(topic, npid);
            return Results.NoContent();
        }).RequireAuthorization(Auth.Policies.TenantMember)
            .Produces(StatusCodes.Status204NoContent)
            .Operation("unsubscribeTopic", "Remove a subscriber of a topic (404 name_not_found when it is not subscribed)", 400, 403, 404);
    }

    private static TimeSpan Wait(string? wait)
    {
        if (wait is null)
        {
            return TimeSpan.Zero;
        }

        try
        {
            var parsed = Units.ParseDuration(wait);
            return parsed < Limits.MaxMessagingWait ? parsed : Limits.MaxMessagingWait;
        }
        catch (FormatException e)
        {
            throw NefeleException.Bad($"wait: {e.Message}");
        }
    }

    private static string Required(string? npid) =>
        string.IsNullOrEmpty(npid) ? throw NefeleException.Bad("npid is required: the holder to remove (?npid=…)") : npid;
}
