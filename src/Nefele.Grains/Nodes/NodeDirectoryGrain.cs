using Microsoft.Extensions.Logging;
using Nefele.Errors;
using Nefele.Placement;
using Nefele.Processes;

namespace Nefele.Nodes;

/// <summary>
/// The cluster's node directory: labels and devices real nodes registered, and the hollow
/// nodes. Held in memory: real nodes re-register periodically, so a directory that moved to
/// another silo fills again within that period; hollow nodes are a benchmarking aid and are
/// declared again by whoever needs them.
/// </summary>
public sealed class NodeDirectoryGrain(NodeDirectoryCache cache, ILogger<NodeDirectoryGrain> logger) : Grain, INodeDirectoryGrain
{
    /// <summary>Most hollow nodes one cluster may declare.</summary>
    public const int MaxHollowNodes = 100_000;

    private readonly Dictionary<string, NodeEntry> _nodes = new(StringComparer.Ordinal);
    private NodeDirectorySnapshot? _snapshot;
    private long _version;
    private int _nextHollow;

    public Task<NodeDirectorySnapshot> GetAsync() =>
        Task.FromResult(_snapshot ??= new NodeDirectorySnapshot { Version = _version, Nodes = _nodes.Values.ToArray() });

    public Task RegisterAsync(NodeEntry node)
    {
        if (HollowNode.IsHollow(node.Name))
        {
            throw NefeleException.Bad($"a real node may not be named {node.Name}: hollow-* names are for hollow nodes");
        }

        _nodes[node.Name] = node with { Hollow = false };
        Changed();
        return Task.CompletedTask;
    }

    public async Task<IReadOnlyList<string>> AddHollowAsync(int count, HollowNode template)
    {
        var hollow = _nodes.Values.Count(n => n.Hollow);
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
            names.Add($"{HollowNode.Prefix}{_nextHollow++}");
        }

        await Task.WhenAll(names.Select(n => GrainFactory.GetGrain<INodeGrain>(n).DeclareHollowAsync(template with { Name = n })));
        foreach (var name in names)
        {
            _nodes[name] = new NodeEntry { Name = name, Hollow = true, Labels = template.Labels, Devices = template.Devices };
        }

        Changed();
        logger.LogInformation("Declared {Count} hollow nodes ({First}..{Last})", count, names[0], names[^1]);
        return names;
    }

    public async Task<int> RemoveHollowAsync()
    {
        var hollow = _nodes.Values.Where(n => n.Hollow).Select(n => n.Name).ToArray();
        foreach (var name in hollow)
        {
            _nodes.Remove(name);
        }

        _nextHollow = 0;
        Changed();
        var running = await Task.WhenAll(hollow.Select(n => GrainFactory.GetGrain<INodeGrain>(n).RemoveHollowAsync()));
        await Task.WhenAll(running.SelectMany(r => r).Select(npid =>
            GrainFactory.GetGrain<IProcessGrain>(npid).MarkLostAsync("its hollow node was removed")));
        return hollow.Length;
    }

    private void Changed()
    {
        _version++;
        _snapshot = null;

        // This silo's admission sees the change at once; other silos within their cache period.
        cache.Invalidate();
    }
}
