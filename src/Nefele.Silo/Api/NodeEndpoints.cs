using Nefele.Nodes;
using Orleans.Runtime;

namespace Nefele.Silo.Api;

/// <summary>Cluster-level read-only views: nodes and health.</summary>
internal static class NodeEndpoints
{
    public static void MapNodeEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/nodes", async (IClusterMembershipService membership, IGrainFactory grains) =>
        {
            var names = membership.CurrentSnapshot.Members.Values
                .Where(m => m.Status == SiloStatus.Active && !string.IsNullOrEmpty(m.Name))
                .Select(m => m.Name);
            var nodes = await Task.WhenAll(names.Select(n => grains.GetGrain<INodeGrain>(n).GetCapacityAsync()));
            return Results.Ok(new NodeList(nodes));
        }).WithTags("nodes").RequireAuthorization(Auth.Policies.AnyKey)
            .Produces<NodeList>()
            .Operation("listNodes", "Active nodes with their allocatable capacity and reservations");

        app.MapGet("/healthz", (Hostd.HostAgentChannel channel) =>
            channel.Facts is null
                ? ProblemMapping.ToProblem(Nefele.Client.ErrorCodes.NodeUnavailable, $"node {channel.Node}: hostd is not attached")
                : Results.Ok(new Health(channel.Node, "ok")))
            .WithTags("nodes").AllowAnonymous()
            .Produces<Health>()
            .AnonymousOperation("health", "200 when this node's silo has its hostd attached, else 503", StatusCodes.Status503ServiceUnavailable);

        if (app.ServiceProvider.GetRequiredService<Microsoft.Extensions.Options.IOptions<ApiOptions>>().Value.AllowHollowNodes)
        {
            app.MapHollowNodeEndpoints();
        }
    }
}
