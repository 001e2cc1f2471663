using Microsoft.Extensions.Logging;
using Nefele.Client;
using Nefele.Errors;
using Nefele.Placement;
using Nefele.Processes;

namespace Nefele.Nodes;

/// <summary>
/// The cluster's node directory: labels and devices real nodes registered, and the hollow
/// nodes. Persisted (Redis in cluster mode), so when the silo holding it dies the directory
/// moves with its entries instead of forgetting every node's labels until they re-register.
/// </summary>
public sealed class NodeDirectoryGrain(
    [PersistentState("nodes", StorageNames.Default)] IPersistentState<NodeDirectoryRecord> state,
    NodeDirectoryCache cache,
    ILogger<NodeDirectoryGrain> logger) : Grain, INodeDirectoryGrain
{
    /// <summary>Most hollow nodes one cluster may declare.</summary>
    public const int MaxHollowNodes = 100_000;

    private NodeDirectorySnapshot? _snapshot;
    private long _version;

    private Dictionary<string, NodeEntry> Nodes => state.State.Nodes;

    public Task<NodeDirectorySnapshot> GetAsync() =>
        Task.FromResult(_snapshot ??= new NodeDirectorySnapshot { Version = _version, Nodes = Nodes.Values.ToArray() });

    public async Task RegisterAsync(NodeEntry node)
    {
        if (HollowNode.IsHollow(node.Name))
        {
            throw NefeleException.Bad($"a real node may not be named {node.Name}: hollow-* names are for hollow nodes");
        }

        Nodes[node.Name] = node with { Hollow = false };
        await ChangedAsync();
    }

    public async Task<IReadOnlyList<string>> AddHollowAsync(int count, HollowNode template)
    {
        var hollow = Nodes.Values.Count(n => n.Hollow);
        if (count < 1 || hollow + count > MaxHollowNodes)
        {
            throw NefeleException.Bad($"count {count} must be at least 1 and keep the cluster at most {MaxHollowNodes} hollow nodes ({hollow} now)");
        }

        if (template.CpuMillis < 0 || template.MemoryBytes < 0 || template.Devices.Values.Any(v => v < 0) || template.CpuLoad is < 0 or > 1)
        {
            throw NefeleException.Bad("hollow node cpu, memory and device counts must not be negative, and load must be within 0..1");
        }

        var names = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            names.Add($"{HollowNode.Prefix}{state.State.NextHollow++}");
        }

        await Task.WhenAll(names.Select(n => GrainFactory.GetGrain<INodeGrain>(n).DeclareHollowAsync(template with { Name = n })));
        foreach (var name in names)
        {
            Nodes[name] = new NodeEntry { Name = name, Hollow = true, Labels = template.Labels, Devices = template.Devices };
        }

        await ChangedAsync();
        logger.LogInformation("Declared {Count} hollow nodes ({First}..{Last})", count, names[0], names[^1]);
        return names;
    }

    public async Task<int> RemoveHollowAsync()
    {
        var hollow = Nodes.Values.Where(n => n.Hollow).Select(n => n.Name).ToArray();
        foreach (var name in hollow)
        {
            Nodes.Remove(name);
        }

        state.State.NextHollow = 0;
        await ChangedAsync();
        var running = await Task.WhenAll(hollow.Select(n => GrainFactory.GetGrain<INodeGrain>(n).RemoveHollowAsync()));
        await Task.WhenAll(running.SelectMany(r => r).Select(npid =>
            GrainFactory.GetGrain<IProcessGrain>(npid).MarkLostAsync("its hollow node was removed")));
        return hollow.Length;
    }

    private async Task ChangedAsync()
    {
        _version++;
        _snapshot = null;
        await state.WriteStateAsync();

        // This silo's admission sees the change at once; other silos within their cache period.
        cache.Invalidate();
    }
}
