using Microsoft.Extensions.Options;
using Nefele.Errors;
using Nefele.Placement;
using Nefele.Processes;
using Nefele.Protocol.V1;
using ProcessSpec = Nefele.Processes.ProcessSpec;

namespace Nefele.Nodes;

/// <summary>
/// The node's agent in the control plane: capacity (real cores and memory less the reserve),
/// reservations with leases, the node's self-score, and commands to its hostd. Lives on the
/// node's own silo (<see cref="NodeLocalPlacementAttribute"/>); its reservations are rebuilt
/// from hostd's report when the silo restarts, because hostd is the truth of what runs here.
/// </summary>
[NodeLocalPlacement]
public sealed class NodeGrain(IHostAgentChannel channel, IOptions<NodeOptions> options, TimeProvider time)
    : Grain, INodeGrain
{
    private readonly Dictionary<string, Reservation> _reservations = new(StringComparer.Ordinal);

    private string Node => this.GetPrimaryKeyString();

    public Task<NodeCapacity> GetCapacityAsync()
    {
        ExpireLeases();
        var (cpu, memory) = Allocatable();
        return Task.FromResult(new NodeCapacity
        {
            Node = Node,
            CpuMillis = cpu,
            MemoryBytes = memory,
            ReservedCpuMillis = _reservations.Values.Sum(r => r.Ask.CpuMillis),
            ReservedMemoryBytes = _reservations.Values.Sum(r => r.Ask.MemoryBytes),
            Processes = _reservations.Count,
            HostAgentAttached = channel.Facts is not null,
            Engine = channel.Facts?.Engine,
        });
    }

    public Task<NodeOffer> OfferAsync(IReadOnlyList<ResourceAsk> asks)
    {
        ExpireLeases();
        return Task.FromResult(NodeScoring.Offer(Node, channel.Facts is not null, Allocatable(), Taken(), asks));
    }

    public Task<bool> ReserveAsync(IReadOnlyList<(string Npid, ResourceAsk Ask)> tasks, TimeSpan lease)
    {
        ExpireLeases();
        var offer = NodeScoring.Offer(Node, channel.Facts is not null, Allocatable(), Taken(), tasks.Select(t => t.Ask).ToArray());
        if (offer.Fits < tasks.Count)
        {
            return Task.FromResult(false);
        }

        var expires = time.GetTimestamp() + (long)(lease.TotalSeconds * time.TimestampFrequency);
        foreach (var (npid, ask) in tasks)
        {
            _reservations[npid] = new Reservation(ask, expires, Committed: false);
        }

        return Task.FromResult(true);
    }

    public Task CommitAsync(string npid)
    {
        if (_reservations.TryGetValue(npid, out var r))
        {
            _reservations[npid] = r with { Committed = true };
        }

        return Task.CompletedTask;
    }

    public Task ReleaseAsync(string npid)
    {
        _reservations.Remove(npid);
        return Task.CompletedTask;
    }

    public Task TrackAsync(string npid, ResourceAsk ask)
    {
        _reservations[npid] = new Reservation(ask, 0, Committed: true);
        return Task.CompletedTask;
    }

    public async Task<LaunchOutcome> LaunchAsync(string npid, string tenant, ProcessSpec spec)
    {
        if (_reservations.TryGetValue(npid, out var r))
        {
            _reservations[npid] = r with { Committed = true };
        }
        else
        {
            // A lease that ran out: take the resources again if they are still free.
            var ask = new ResourceAsk(spec.CpuMillis, spec.MemoryBytes);
            if (!await ReserveAsync([(npid, ask)], TimeSpan.Zero))
            {
                throw NefeleException.Rejected($"node {Node} no longer has room for {npid}: its reservation expired before launch");
            }

            _reservations[npid] = new Reservation(ask, 0, Committed: true);
        }

        LaunchReply reply;
        try
        {
            reply = await channel.LaunchAsync(npid, tenant, spec, CancellationToken.None);
        }
        catch
        {
            _reservations.Remove(npid);
            throw;
        }

        switch (reply.OutcomeCase)
        {
            case LaunchReply.OutcomeOneofCase.Started:
                return new LaunchOutcome
                {
                    Started = true,
                    Pid = reply.Started.Pid,
                    StartedAt = DateTimeOffset.FromUnixTimeMilliseconds(reply.Started.StartedUnixMs),
                };
            case LaunchReply.OutcomeOneofCase.Failed:
                _reservations.Remove(npid);
                return new LaunchOutcome { Started = false, Pid = reply.Failed.Pid, FailureReason = reply.Failed.Reason };
            default:
                _reservations.Remove(npid);
                throw NefeleException.Rejected(reply.Rejected?.Message ?? $"hostd on {Node} refused to launch {npid}");
        }
    }

    public Task SignalAsync(string npid, int signal) => channel.SignalAsync(npid, signal, CancellationToken.None);

    public async Task<LogChunk> ReadLogsAsync(string npid, long offset, int maxBytes, TimeSpan wait)
    {
        var reply = await channel.ReadLogsAsync(npid, offset, maxBytes, wait, CancellationToken.None);
        return new LogChunk
        {
            Data = reply.Data.ToByteArray(),
            NextOffset = reply.NextOffset,
            Complete = reply.Complete,
            FirstOffset = reply.FirstOffset,
        };
    }

    public async Task<IReadOnlyDictionary<string, (long CpuNs, long MemoryBytes)>> GetUsageAsync()
    {
        var reply = await channel.GetUsageAsync(CancellationToken.None);
        return reply.Processes.ToDictionary(p => p.Npid, p => (p.CpuUsageNs, p.MemoryUsageBytes), StringComparer.Ordinal);
    }

    private (long Cpu, long Memory) Allocatable()
    {
        var facts = channel.Facts;
        if (facts is null)
        {
            return (0, 0);
        }

        var o = options.Value;
        return (Math.Max(0, (facts.Cpus * 1000L) - o.ReservedCpuMillis), Math.Max(0, facts.MemoryBytes - o.ReservedMemoryBytes));
    }

    private (long Cpu, long Memory) Taken() =>
        (_reservations.Values.Sum(r => r.Ask.CpuMillis), _reservations.Values.Sum(r => r.Ask.MemoryBytes));

    private void ExpireLeases()
    {
        var now = time.GetTimestamp();
        foreach (var (npid, r) in _reservations)
        {
            if (!r.Committed && r.ExpiresAt < now)
            {
                _reservations.Remove(npid);
            }
        }
    }

    private readonly record struct Reservation(ResourceAsk Ask, long ExpiresAt, bool Committed);
}
