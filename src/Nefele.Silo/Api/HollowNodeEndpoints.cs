using Nefele.Client;
using Nefele.Nodes;
using Nefele.Placement;

namespace Nefele.Silo.Api;

/// <summary>
/// Hollow nodes for benchmarks: node grains with declared capacity whose launches are recorded,
/// never forked, so placement can be exercised with thousands of nodes on one machine.
/// </summary>
internal static class HollowNodeEndpoints
{
    public static void MapHollowNodeEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/hollow-nodes", async (HollowNodesBody body, IGrainFactory grains, NodeDirectoryCache cache) =>
        {
            var names = await grains.GetGrain<INodeDirectoryGrain>(INodeDirectoryGrain.Key).AddHollowAsync(body.Count, new HollowNode
            {
                Name = HollowNode.Prefix,
                CpuMillis = body.CpuMillis,
                MemoryBytes = body.MemoryBytes,
                Labels = body.Labels,
                Devices = body.Devices,
                CpuLoad = body.CpuLoad,
            });
            cache.Invalidate();
            return Results.Ok(new HollowNodesAdded(names));
        }).WithTags("hollow nodes").RequireAuthorization(Auth.Policies.Admin)
            .Produces<HollowNodesAdded>()
            .Operation("addHollowNodes", "Add hollow nodes (hollow-<n>) with the given capacity, labels and devices; answers their names", [.. ApiDocs.Body, 403]);

        app.MapDelete("/v1/hollow-nodes", async (IGrainFactory grains, NodeDirectoryCache cache) =>
        {
            var removed = await grains.GetGrain<INodeDirectoryGrain>(INodeDirectoryGrain.Key).RemoveHollowAsync();
            cache.Invalidate();
            return Results.Ok(new HollowNodesRemoved(removed));
        }).WithTags("hollow nodes").RequireAuthorization(Auth.Policies.Admin)
            .Produces<HollowNodesRemoved>()
            .Operation("removeHollowNodes", "Remove every hollow node; processes placed on them end as Lost", 403);
    }
}
