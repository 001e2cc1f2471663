using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nefele.Processes;
using Orleans.Runtime;

namespace Nefele.Nodes;

/// <summary>
/// Declares nodes lost from the membership table: a node is alive while an active silo
/// carries its name; once it has been missing for <see cref="FailureOptions.NodeLostAfter"/>,
/// every watched process on it is marked Lost (its monitors are told). Processes whose grain
/// was not active anywhere are caught when their grain next activates (ps, monitor) — the
/// grain checks <see cref="IsLost"/> then — so every observer sees the same end.
/// Hollow nodes (keys "hollow-…") are simulated and never lost this way.
/// </summary>
public sealed class NodeLiveness(
    IClusterMembershipService membership,
    IGrainFactory grains,
    TimeProvider time,
    IOptions<FailureOptions> options,
    ILogger<NodeLiveness> logger) : BackgroundService, INodeLiveness
{
    private readonly ConcurrentDictionary<string, long> _missingSince = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, byte>> _watched = new(StringComparer.Ordinal);

    public bool IsLost(string node)
    {
        if (IsHollow(node) || IsPresent(node))
        {
            _missingSince.TryRemove(node, out _);
            return false;
        }

        var since = _missingSince.GetOrAdd(node, _ => time.GetTimestamp());
        return time.GetElapsedTime(since) >= options.Value.NodeLostAfter;
    }

    public void Watch(string node, string npid)
    {
        if (!IsHollow(node))
        {
            _watched.GetOrAdd(node, _ => new(StringComparer.Ordinal))[npid] = 0;
        }
    }

    public void Unwatch(string node, string npid)
    {
        if (_watched.TryGetValue(node, out var set))
        {
            set.TryRemove(npid, out _);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.CheckInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            foreach (var (node, set) in _watched)
            {
                if (set.IsEmpty || !IsLost(node))
                {
                    continue;
                }

                var npids = set.Keys.ToArray();
                logger.LogWarning("Node {Node} is lost: marking its {Count} processes Lost", node, npids.Length);
                foreach (var npid in npids)
                {
                    set.TryRemove(npid, out _);
                    try
                    {
                        await grains.GetGrain<IProcessGrain>(npid).MarkLostAsync(LostReason(node));
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        // Its grain will check again when it next activates.
                        logger.LogDebug(e, "Could not mark {Npid} lost", npid);
                    }
                }
            }
        }
    }

    public string LostReason(string node) =>
        $"node {node} is gone: no active silo for it for {options.Value.NodeLostAfter.TotalSeconds:0.#} s";

    private bool IsPresent(string node)
    {
        foreach (var member in membership.CurrentSnapshot.Members.Values)
        {
            if (member.Status == SiloStatus.Active && string.Equals(member.Name, node, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsHollow(string node) => node.StartsWith("hollow-", StringComparison.Ordinal);
}
