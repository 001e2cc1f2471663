using Nefele.Client;

namespace Nefele.Silo.Api;

/// <summary>The tenant's durable supervisors: create (PUT, idempotent), list, get, resize a pool, delete.</summary>
internal static class SupervisorEndpoints
{
    public static void MapSupervisorEndpoints(this IEndpointRouteBuilder app)
    {
        var supervisors = app.MapGroup("/v1/tenants/{tenant}/supervisors").WithTags("supervisors");

        supervisors.MapGet("", async (string tenant, IGrainFactory grains, HttpContext http) =>
            Results.Ok(new SupervisorList(await Of(grains, tenant).ListAsync(http.RequestAborted))))
            .RequireAuthorization(Auth.Policies.TenantViewer)
            .Produces<SupervisorList>()
            .Operation("listSupervisors", "The names of the tenant's durable supervisors (running or ended, until deleted)", 403);

        supervisors.MapPut("/{name}", async (string tenant, string name, SupervisorSpec body, IGrainFactory grains, HttpContext http) =>
            Results.Ok(await Of(grains, tenant).StartAsync(name, body, http.RequestAborted)))
            .RequireAuthorization(Auth.Policies.TenantMember)
            .Produces<SupervisorStatus>()
            .WithDescription("Starts a durable supervisor (a grain with persisted state that survives the node it runs on): its children start in order and the answer comes once all run. The same spec again answers the running supervisor's status; another spec is supervisor_exists; a child that cannot start is failed_to_start (422), and nothing is kept.")
            .Operation("createSupervisor", "Start a durable supervisor with OTP semantics (one_for_one, one_for_all, rest_for_one, simple_one_for_one)",
                [.. ApiDocs.Body, 403, 409, 422]);

        supervisors.MapGet("/{name}", async (string tenant, string name, IGrainFactory grains, HttpContext http) =>
            Results.Ok(await Of(grains, tenant).GetAsync(name, http.RequestAborted)))
            .RequireAuthorization(Auth.Policies.TenantViewer)
            .Produces<SupervisorStatus>()
            .Operation("getSupervisor", "A supervisor's status: phase, children with their NPIDs and restart counts, end reason", 400, 403, 404);

        supervisors.MapPost("/{name}/resize", async (string tenant, string name, ResizeBody body, IGrainFactory grains, HttpContext http) =>
            Results.Ok(await Of(grains, tenant).ResizeAsync(name, body.Size, http.RequestAborted)))
            .RequireAuthorization(Auth.Policies.TenantMember)
            .Produces<SupervisorStatus>()
            .Operation("resizeSupervisor", "Resize a simple_one_for_one pool: new copies start in order, the newest beyond the size stop in reverse order",
                [.. ApiDocs.Body, 403, 404, 422]);

        supervisors.MapDelete("/{name}", async (string tenant, string name, IGrainFactory grains, HttpContext http) =>
            await Of(grains, tenant).StopAsync(name, http.RequestAborted)
                ? Results.NoContent()
                : throw new NefeleException(ErrorCodes.SupervisorNotFound, $"no supervisor {name} in tenant {tenant}"))
            .RequireAuthorization(Auth.Policies.TenantMember)
            .Produces(StatusCodes.Status204NoContent)
            .Operation("deleteSupervisor", "Stop a supervisor: its children in reverse order, each with its shutdown (SIGTERM, wait, SIGKILL); then it is forgotten", 400, 403, 404);
    }

    private static NefeleSupervisors Of(IGrainFactory grains, string tenant) => new NefeleTenant(grains, tenant).Supervisors;
}
