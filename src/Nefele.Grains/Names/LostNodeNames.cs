using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nefele.Nodes;

namespace Nefele.Naming;

/// <summary>
/// Names held on a node that is lost die with it, even when nothing else tells the name service:
/// the process grains of that node's processes may have gone with its silo, or with its share of
/// the grain directory. Every <see cref="FailureOptions.CheckInterval"/> this silo looks at the
/// tables its hostd holds (<see cref="NodeNameTables"/>); for each other node a holder lives on
/// that <see cref="INodeLiveness"/> calls lost, it asks the tenant's name service to drop that
/// node's holders and hands the table it answers to its own hostd at once (the name service pushes
/// it to the tenant's other nodes). Every node of a tenant does this, so one surviving node is enough.
/// </summary>
public sealed class LostNodeNames(
    NodeNameTables tables,
    INodeLiveness liveness,
    IGrainFactory grains,
    TimeProvider time,
    IOptions<NodeOptions> node,
    IOptions<FailureOptions> failure,
    ILogger<LostNodeNames> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(failure.Value.CheckInterval, time, stoppingToken);
                await SweepAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One pass: drops the holders of every lost node from the tables that still list them.</summary>
    public async Task SweepAsync(CancellationToken ct)
    {
        foreach (var kept in tables.All.ToArray())
        {
            foreach (var other in kept.HolderNodes)
            {
                // Followed so the liveness check classifies it even when no process there is watched here.
                liveness.Follow(other);
                if (ct.IsCancellationRequested || !liveness.IsLost(other))
                {
                    continue;
                }

                try
                {
                    var after = await grains.GetGrain<INameServiceGrain>(kept.Table.Tenant).DropNodeAsync(other);
                    await grains.GetGrain<INodeGrain>(node.Value.Name).ApplyNamesAsync(after);
                }
                catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    // Tried again on the next pass, while the table still lists the node.
                    logger.LogDebug("Node {Node} could not drop lost node {Lost}'s names of tenant {Tenant}: {Error}", node.Value.Name, other, kept.Table.Tenant, e.Message);
                }
            }
        }
    }
}
