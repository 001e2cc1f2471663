using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Nefele.Nodes;

/// <summary>
/// The host agent each node grain on this silo commands, and that node's own configuration:
/// the silo's hostd channel for its own node, a <see cref="HollowHostAgent"/> for each hollow
/// node declared here (one that is not declared gets an agent with no facts, so it looks like
/// a node whose hostd is not attached).
/// </summary>
public sealed class HostAgents(
    IHostAgentChannel local,
    IOptions<NodeOptions> options,
    IGrainFactory grains,
    TimeProvider time,
    ILogger<HollowHostAgent> logger)
{
    private readonly ConcurrentDictionary<string, HollowHostAgent> hollow = new(StringComparer.Ordinal);

    public IHostAgentChannel For(string node) =>
        !HollowNode.IsHollow(node) ? local
        : hollow.TryGetValue(node, out var agent) ? agent
        : new HollowHostAgent(node, null, grains, time, logger);

    public NodeProfile ProfileOf(string node) =>
        HollowNode.IsHollow(node) && hollow.TryGetValue(node, out var agent) ? agent.Profile : NodeProfile.Of(options.Value);

    /// <summary>Puts a fresh simulated agent for <paramref name="declaration"/> under its node; what the previous one ran is forgotten.</summary>
    public HollowHostAgent Declare(HollowNode declaration)
    {
        var agent = new HollowHostAgent(declaration.Name, declaration, grains, time, logger);
        hollow[declaration.Name] = agent;
        return agent;
    }

    /// <summary>Takes the hollow node's agent away; answers what it ran.</summary>
    public IReadOnlyList<string> Remove(string node) => hollow.TryRemove(node, out var agent) ? agent.Running : [];
}
