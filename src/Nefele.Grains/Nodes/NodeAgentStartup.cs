using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Nefele.Nodes;

/// <summary>
/// Activates this silo's node grain when the silo starts, so its load refresh runs and its
/// labels and devices reach the node directory before the first request needs them.
/// </summary>
internal sealed class NodeAgentStartup(IGrainFactory grains, IOptions<NodeOptions> options, ILogger<NodeAgentStartup> logger) : IStartupTask
{
    public async Task Execute(CancellationToken cancellationToken)
    {
        try
        {
            await grains.GetGrain<INodeGrain>(options.Value.Name).PingAsync();
        }
        catch (Exception e)
        {
            // Not fatal: the grain activates on the first request for this node instead.
            logger.LogWarning(e, "Node grain {Node} did not activate at start-up", options.Value.Name);
        }
    }
}
