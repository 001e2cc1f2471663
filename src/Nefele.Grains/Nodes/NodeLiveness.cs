using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nefele.Client;
using Nefele.Processes;
using Nefele.Protocol;
using Orleans.Runtime;

namespace Nefele.Nodes;

/// <summary>
/// Declares nodes lost from the cluster membership: a node is alive while an active silo carries
/// its name. When it has none, how its last silo went decides how long to wait:
/// <list type="bullet">
/// <item>declared dead by the cluster (it stopped answering probes: killed, crashed or cut off),
/// and the node's hostd does not answer at the silo's address either — the node is gone, so its
/// processes are Lost after <see cref="FailureOptions.DeadNodeLostAfter"/> (default at once);</item>
/// <item>declared dead, but the node's hostd answers (<see cref="FailureOptions.HostdLivenessPort"/>)
/// — the silo crashed on a live node, whose hostd keeps the processes for the silo that restarts,
/// so as for a restart;</item>
/// <item>left on its own (it shut down, or a newer silo of the node replaced it) — a restart on a
/// live node, whose hostd keeps the processes for the next silo, so only after
/// <see cref="FailureOptions.NodeLostAfter"/>.</item>
/// </list>
/// While a new silo of the node is joining (a restart under way), its processes are never Lost.
/// Lost marks every watched process on the node (its monitors are told). Processes whose grain
/// was not active anywhere are caught when their grain next activates (ps, monitor) — the grain
/// checks <see cref="IsLost"/> then — so every observer sees the same end. Nodes are checked on
/// every membership change and every <see cref="FailureOptions.CheckInterval"/>. Hollow nodes
/// (keys "hollow-…") are simulated and never lost this way.
/// </summary>
public sealed class NodeLiveness(
    IClusterMembershipService membership,
    IServiceProvider services,
    IGrainFactory grains,
    TimeProvider time,
    IOptions<FailureOptions> options,
    ILogger<NodeLiveness> logger) : BackgroundService, INodeLiveness
{
    private readonly ConcurrentDictionary<string, Departure> _departed = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, byte>> _watched = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<SiloAddress, byte> _seenLeaving = new();
    private readonly SemaphoreSlim _wake = new(0, 1);

    /// <summary>
    /// How a node's last silo went, and since when this silo has known it has none. A silo declared
    /// dead whose node's hostd answered keeps that hostd's address and how it would read without
    /// it: hostd is asked again on every check, and once it stops answering the node is gone.
    /// </summary>
    private sealed record Departure(long Since, bool DeclaredDead, string How, IPAddress? AnsweringHostd = null, string? HowIfGone = null);

    public bool IsLost(string node)
    {
        if (IsHollow(node) || IsPresent(node, membership.CurrentSnapshot))
        {
            _departed.TryRemove(node, out _);
            return false;
        }

        // Not yet classified: the check that follows (woken here) decides; until then, not lost.
        if (!_departed.TryGetValue(node, out var departure))
        {
            Wake();
            return false;
        }

        return time.GetElapsedTime(departure.Since) >= Grace(departure) && !IsJoining(node, membership.CurrentSnapshot);
    }

    public void Watch(string node, string npid)
    {
        if (!IsHollow(node))
        {
            _watched.GetOrAdd(node, _ => new(StringComparer.Ordinal))[npid] = 0;
        }
    }

    public void Follow(string node)
    {
        if (!IsHollow(node))
        {
            _watched.GetOrAdd(node, _ => new(StringComparer.Ordinal));
        }
    }

    public void Unwatch(string node, string npid)
    {
        if (_watched.TryGetValue(node, out var set))
        {
            set.TryRemove(npid, out _);
        }
    }

    public string LostReason(string node) =>
        _departed.TryGetValue(node, out var d)
            ? $"node {node} is gone: {d.How}" + (Grace(d) > TimeSpan.Zero ? $", and no silo of it came back within {Grace(d).TotalSeconds:0.#} s" : string.Empty)
            : $"node {node} is gone: no active silo for it";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var updates = FollowMembershipAsync(stoppingToken);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await CheckAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogWarning(e, "Checking node liveness failed; checking again in {Interval}", options.Value.CheckInterval);
                }

                await _wake.WaitAsync(options.Value.CheckInterval, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await updates;
    }

    /// <summary>Wakes the check on every membership change, and notes silos seen leaving on their own.</summary>
    private async Task FollowMembershipAsync(CancellationToken ct)
    {
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(ct))
            {
                NoteLeaving(snapshot);
                Wake();
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private async Task CheckAsync(CancellationToken ct)
    {
        var snapshot = membership.CurrentSnapshot;
        NoteLeaving(snapshot);
        foreach (var node in _watched.Keys.Union(_departed.Keys).ToArray())
        {
            if (IsPresent(node, snapshot))
            {
                _departed.TryRemove(node, out _);
                continue;
            }

            if (!_departed.TryGetValue(node, out var departure))
            {
                departure = _departed.GetOrAdd(node, await DepartureAsync(node, snapshot, ct));
                logger.LogWarning("Node {Node} has no active silo: {How}; its processes are Lost after {Grace}", node, departure.How, Grace(departure));
            }
            else if (departure.AnsweringHostd is { } hostd && !await HostdAnswersAsync(node, hostd, ct))
            {
                // hostd went after its silo (the node died in steps): the node is gone now.
                departure = new(departure.Since, true, departure.HowIfGone + ", and its hostd stopped answering");
                _departed[node] = departure;
                logger.LogWarning("Node {Node}'s hostd stopped answering: {How}; its processes are Lost", node, departure.How);
            }

            if (!_watched.TryGetValue(node, out var set) || set.IsEmpty || time.GetElapsedTime(departure.Since) < Grace(departure) || IsJoining(node, snapshot))
            {
                continue;
            }

            var npids = set.Keys.ToArray();
            logger.LogWarning("Node {Node} is lost: marking its {Count} processes Lost", node, npids.Length);
            await Task.WhenAll(npids.Select(npid => MarkLostAsync(node, npid, set)));
        }
    }

    private async Task MarkLostAsync(string node, string npid, ConcurrentDictionary<string, byte> set)
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

    /// <summary>
    /// How the node's newest silo left: seen shutting down, or replaced by a newer silo of the
    /// same node, is a graceful leave; declared dead with a vote of another node's silo is a
    /// death. When the membership table cannot be read in time, a graceful leave (the longer wait).
    /// </summary>
    private async Task<Departure> DepartureAsync(string node, ClusterMembershipSnapshot snapshot, CancellationToken ct)
    {
        var since = time.GetTimestamp();
        var last = snapshot.Members.Values
            .Where(m => string.Equals(m.Name, node, StringComparison.Ordinal))
            .MaxBy(m => m.SiloAddress.Generation);
        if (last is null)
        {
            return new(since, false, "no silo of it is in the cluster's membership");
        }

        if (last.Status is SiloStatus.ShuttingDown or SiloStatus.Stopping || _seenLeaving.ContainsKey(last.SiloAddress))
        {
            return new(since, false, $"its silo {last.SiloAddress} shut down");
        }

        if (last.Status is not SiloStatus.Dead)
        {
            return new(since, false, $"its silo {last.SiloAddress} is {last.Status}");
        }

        if (services.GetService<IMembershipTable>() is not { } table)
        {
            return new(since, false, $"its silo {last.SiloAddress} is dead");
        }

        MembershipTableData data;
        try
        {
            data = await table.ReadAllAsync(ct).WaitAsync(options.Value.MembershipReadTimeout, time, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            logger.LogWarning(e, "Could not read the membership table to learn how node {Node}'s silo left; waiting as for a restart", node);
            return new(since, false, $"its silo {last.SiloAddress} is dead");
        }

        var names = data.Members.ToDictionary(m => m.Item1.SiloAddress, m => m.Item1.SiloName);
        var entry = data.Members.Select(m => m.Item1).FirstOrDefault(e => e.SiloAddress.Equals(last.SiloAddress));
        var voters = (entry?.SuspectTimes ?? [])
            .Select(s => names.GetValueOrDefault(s.Item1) ?? s.Item1.ToString())
            .Where(n => !string.Equals(n, node, StringComparison.Ordinal))
            .Distinct(StringComparer.Ordinal)
            .ToArray();
        if (voters.Length == 0)
        {
            return new(since, false, $"its silo {last.SiloAddress} shut down or was replaced");
        }

        var declared = $"the cluster declared its silo {last.SiloAddress} dead ({string.Join(", ", voters)} stopped hearing from it)";
        var address = last.SiloAddress.Endpoint.Address;
        return await HostdAnswersAsync(node, address, ct)
            ? new(since, false, $"{declared}, but its hostd answers: the silo crashed on a live node", address, declared)
            : new(since, true, declared + (options.Value.HostdLivenessPort == 0 ? string.Empty : ", and its hostd does not answer"));
    }

    /// <summary>
    /// Whether the node's hostd answers its liveness port at <paramref name="address"/> with the
    /// node's name. A connection accepted but not greeted within the bound counts as alive (the
    /// listening socket is hostd's, and dies with it); refused, silent or another name does not.
    /// </summary>
    private async Task<bool> HostdAnswersAsync(string node, IPAddress address, CancellationToken ct)
    {
        var port = options.Value.HostdLivenessPort;
        if (port == 0)
        {
            return false;
        }

        using var bound = new CancellationTokenSource(options.Value.HostdProbeTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, bound.Token);
        using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(address, port), linked.Token);
        }
        catch (Exception e) when (e is SocketException || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            return false;
        }

        var buffer = new byte[128];
        var read = 0;
        try
        {
            while (read < buffer.Length && Array.IndexOf(buffer, (byte)'\n', 0, read) < 0)
            {
                var n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, linked.Token);
                if (n == 0)
                {
                    break;
                }

                read += n;
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return read == 0;
        }
        catch (SocketException)
        {
            return false;
        }

        return string.Equals(Encoding.ASCII.GetString(buffer, 0, read).TrimEnd('\n'), LivenessGreeting.For(node), StringComparison.Ordinal);
    }

    private TimeSpan Grace(Departure d) => d.DeclaredDead ? options.Value.DeadNodeLostAfter : options.Value.NodeLostAfter;

    private void NoteLeaving(ClusterMembershipSnapshot snapshot)
    {
        foreach (var member in snapshot.Members.Values)
        {
            if (member.Status is SiloStatus.ShuttingDown or SiloStatus.Stopping)
            {
                _seenLeaving.TryAdd(member.SiloAddress, 0);
            }
        }

        // Bounded: only silos still in the membership are remembered.
        foreach (var silo in _seenLeaving.Keys)
        {
            if (!snapshot.Members.ContainsKey(silo))
            {
                _seenLeaving.TryRemove(silo, out _);
            }
        }
    }

    private void Wake()
    {
        try
        {
            if (_wake.CurrentCount == 0)
            {
                _wake.Release();
            }
        }
        catch (SemaphoreFullException)
        {
        }
    }

    private static bool IsPresent(string node, ClusterMembershipSnapshot snapshot)
    {
        foreach (var member in snapshot.Members.Values)
        {
            if (member.Status == SiloStatus.Active && string.Equals(member.Name, node, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A new silo of the node is joining the cluster (a restart under way): its hostd will report the processes to it.</summary>
    private static bool IsJoining(string node, ClusterMembershipSnapshot snapshot)
    {
        foreach (var member in snapshot.Members.Values)
        {
            if (member.Status is (SiloStatus.Created or SiloStatus.Joining) && string.Equals(member.Name, node, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsHollow(string node) => HollowNode.IsHollow(node);

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }
}
