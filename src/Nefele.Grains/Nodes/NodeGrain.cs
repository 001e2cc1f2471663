using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nefele.Client;
using Nefele.Errors;
using Nefele.Placement;
using Nefele.Processes;
using Nefele.Protocol.V1;
using Nefele.Tracing;
using ProcessSpec = Nefele.Client.ProcessSpec;

namespace Nefele.Nodes;

/// <summary>
/// The node's agent in the control plane: capacity (real cores and memory less the reserve, and
/// devices), reservations with leases, the latest measured load, the node's self-score, and
/// commands to its hostd. Lives on the node's own silo (<see cref="NodeLocalPlacementAttribute"/>);
/// its reservations are rebuilt from hostd's report when the silo restarts, because hostd is
/// the truth of what runs here.
/// It commands its host agent through <see cref="HostAgents"/>: hostd's channel for the silo's
/// own node, a simulated one (<see cref="HollowHostAgent"/>) for a hollow node "hollow-&lt;n&gt;"
/// (<see cref="HollowNode"/>), so a hollow node runs this same code over declared facts. What
/// stays particular to a hollow node is about scale, not hostd: it has no silo of its own, so it
/// is kept active while declared and has no load timer (its load is declared), and it takes no
/// name tables (the name service would push every change to thousands of simulated nodes).
/// </summary>
[NodeLocalPlacement]
public sealed class NodeGrain(
    HostAgents agents,
    IOptions<NodeOptions> options,
    TimeProvider time,
    Naming.NodeNameTables nameTables,
    ILogger<NodeGrain> logger)
    : Grain, INodeGrain
{
    private static readonly IReadOnlyDictionary<string, long> NoDevices = new Dictionary<string, long>();
    private readonly Dictionary<string, Reservation> _reservations = new(StringComparer.Ordinal);

    // Processes hostd reported Running (launched or adopted) and not yet released.
    private readonly HashSet<string> _running = new(StringComparer.Ordinal);
    private double _cpuLoad;
    private long _memoryUsed;
    private string? _registered;

    // Tenants whose name tables this node has (or is fetching). The first launch of a tenant here
    // fetches its table before the launch; later launches only look it up. The tables themselves
    // are kept by the silo (NodeNameTables), so they outlive this activation.
    private readonly Dictionary<string, Task<bool>> _namesAttached = new(StringComparer.Ordinal);
    private int _sinceRegistered;

    private string Node => this.GetPrimaryKeyString();

    private bool IsHollow => HollowNode.IsHollow(Node);

    /// <summary>hostd, or a hollow node's simulated agent (asked each time: a hollow node is declared and removed while active).</summary>
    private IHostAgentChannel Agent => agents.For(Node);

    private bool Attached => Agent.Facts is not null;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (IsHollow)
        {
            // A hollow node's state lives only here; it must not be collected while declared.
            DelayDeactivation(TimeSpan.FromDays(3650));
            return Task.CompletedTask;
        }

        var every = options.Value.LoadRefreshInterval;
        this.RegisterGrainTimer(RefreshAsync, new GrainTimerCreationOptions(TimeSpan.Zero, every) { Interleave = true, KeepAlive = true });
        return Task.CompletedTask;
    }

    public Task PingAsync() => Task.CompletedTask;

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
            HostAgentAttached = Attached,
            Engine = Agent.Facts?.Engine,
            Devices = Devices(),
            ReservedDevices = TakenDevices(),
            Labels = Labels(),
            CpuLoad = CpuLoad(),
            MemoryUsedBytes = _memoryUsed,
            Hollow = IsHollow,
        });
    }

    public Task<NodeOffer> OfferAsync(IReadOnlyList<ResourceAsk> asks)
    {
        ExpireLeases();
        return Task.FromResult(Score(asks));
    }

    public Task<bool> ReserveAsync(IReadOnlyList<(string Npid, ResourceAsk Ask)> tasks, TimeSpan lease)
    {
        ExpireLeases();
        var offer = Score(tasks.Select(t => t.Ask).ToArray());
        if (offer.Fits < tasks.Count)
        {
            return Task.FromResult(false);
        }

        Hold(tasks, lease);
        return Task.FromResult(true);
    }

    public Task<(NodeOffer Offer, bool Reserved)> OfferAndReserveAsync(IReadOnlyList<(string Npid, ResourceAsk Ask)> tasks, TimeSpan lease)
    {
        ExpireLeases();
        var offer = Score(tasks.Select(t => t.Ask).ToArray());
        if (offer.Fits < tasks.Count)
        {
            return Task.FromResult((offer, false));
        }

        Hold(tasks, lease);
        return Task.FromResult((offer, true));
    }

    private void Hold(IReadOnlyList<(string Npid, ResourceAsk Ask)> tasks, TimeSpan lease)
    {
        var expires = time.GetTimestamp() + (long)(lease.TotalSeconds * time.TimestampFrequency);
        foreach (var (npid, ask) in tasks)
        {
            _reservations[npid] = new Reservation(ask, expires, Committed: false);
        }
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
        _running.Remove(npid);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<string>> ForgetUnreportedAsync(IReadOnlyCollection<string> reported)
    {
        var gone = _running.Where(npid => !reported.Contains(npid)).ToArray();
        foreach (var npid in gone)
        {
            _running.Remove(npid);
            _reservations.Remove(npid);
        }

        return Task.FromResult<IReadOnlyList<string>>(gone);
    }

    public Task TrackAsync(string npid, ResourceAsk ask)
    {
        _reservations[npid] = new Reservation(ask, 0, Committed: true);
        _running.Add(npid);
        return Task.CompletedTask;
    }

    public async Task<LaunchOutcome> LaunchAsync(string npid, string tenant, ProcessSpec spec, Tenants.RunAs runAs)
    {
        if (_reservations.TryGetValue(npid, out var r))
        {
            _reservations[npid] = r with { Committed = true };
        }
        else
        {
            // A lease that ran out: take the resources again if they are still free.
            var ask = ResourceAsk.Of(spec);
            if (!await ReserveAsync([(npid, ask)], TimeSpan.Zero))
            {
                throw NefeleException.Rejected($"node {Node} no longer has room for {npid}: its reservation expired before launch");
            }

            _reservations[npid] = new Reservation(ask, 0, Committed: true);
        }

        // A process starts with its tenant's names already on its node (costs only the tenant's first launch here).
        var names = AttachNames(tenant);
        if (!names.IsCompleted)
        {
            await names;
        }

        // The launch request carries this span's context to hostd (its launch span is a child).
        using var activity = Telemetry.Source.StartActivity("nefele.node.launch", ActivityKind.Client);
        activity?.SetTag(SpanAttributes.Npid, npid);
        activity?.SetTag(SpanAttributes.Tenant, tenant);
        activity?.SetTag(SpanAttributes.Node, Node);
        activity?.SetTag(SpanAttributes.Engine, Agent.Facts?.Engine);
        LaunchReply reply;
        var calling = Stopwatch.GetTimestamp();
        try
        {
            reply = await Agent.LaunchAsync(npid, tenant, spec, runAs, CancellationToken.None);
            SpawnHops.Record("5b1 node.hostd_call", calling);
        }
        catch (Exception e)
        {
            activity?.SetStatus(ActivityStatusCode.Error, e.Message);
            _reservations.Remove(npid);
            throw;
        }

        switch (reply.OutcomeCase)
        {
            case LaunchReply.OutcomeOneofCase.Started:
                activity?.SetTag(SpanAttributes.ProcessPid, reply.Started.Pid);
                _running.Add(npid);
                return new LaunchOutcome
                {
                    Started = true,
                    Pid = reply.Started.Pid,
                    StartedAt = DateTimeOffset.FromUnixTimeMilliseconds(reply.Started.StartedUnixMs),
                    Container = reply.Started.Container.Length == 0 ? null : reply.Started.Container,
                };
            case LaunchReply.OutcomeOneofCase.Failed:
                activity?.SetTag(SpanAttributes.ProcessPid, reply.Failed.Pid);
                activity?.SetStatus(ActivityStatusCode.Error, reply.Failed.Reason);
                _reservations.Remove(npid);
                return new LaunchOutcome { Started = false, Pid = reply.Failed.Pid, FailureReason = reply.Failed.Reason };
            default:
                activity?.SetStatus(ActivityStatusCode.Error, reply.Rejected?.Message);
                _reservations.Remove(npid);
                throw new NefeleException(
                    reply.Rejected?.Code is ErrorCodes.ProgramNotFound ? ErrorCodes.ProgramNotFound : ErrorCodes.SpawnRejected,
                    reply.Rejected?.Message ?? $"hostd on {Node} refused to launch {npid}");
        }
    }

    public async Task SignalAsync(string npid, int signal)
    {
        // The signal request carries this span's context to hostd.
        using var activity = Telemetry.Source.StartActivity("nefele.node.signal", ActivityKind.Client);
        activity?.SetTag(SpanAttributes.Npid, npid);
        activity?.SetTag(SpanAttributes.Node, Node);
        activity?.SetTag(SpanAttributes.Signal, signal);
        try
        {
            await Agent.SignalAsync(npid, signal, CancellationToken.None);
        }
        catch (Exception e)
        {
            activity?.SetStatus(ActivityStatusCode.Error, e.Message);
            throw;
        }
    }

    public Task TerminalInputAsync(string npid, byte[] data, int rows, int columns) =>
        Agent.TerminalInputAsync(npid, data, rows, columns, CancellationToken.None);

    public async Task<LogChunk> ReadLogsAsync(string npid, long offset, int maxBytes, TimeSpan wait, Nefele.Client.LogStream stream)
    {
        var reply = await Agent.ReadLogsAsync(new LogsReadRequest { Npid = npid, Offset = offset, MaxBytes = maxBytes, WaitMs = (int)wait.TotalMilliseconds, Stream = (Nefele.Protocol.V1.LogStream)stream }, CancellationToken.None);
        return new LogChunk
        {
            Data = reply.Data.ToByteArray(),
            NextOffset = reply.NextOffset,
            Complete = reply.Complete,
            FirstOffset = reply.FirstOffset,
        };
    }

    public async Task<LogRecordChunk> ReadLogRecordsAsync(string npid, string? name, LogRecordRead read)
    {
        var reply = await Agent.ReadLogsAsync(new LogsReadRequest
        {
            Npid = npid,
            Offset = read.Offset,
            MaxBytes = read.MaxBytes,
            WaitMs = (int)read.Wait.TotalMilliseconds,
            Stream = (Nefele.Protocol.V1.LogStream)read.Stream,
            Records = true,
            SinceUnixNano = read.SinceUnixNano,
            UntilUnixNano = read.UntilUnixNano,
        }, CancellationToken.None);
        return new LogRecordChunk
        {
            Records = reply.Records.Select(r => new LogEntry
            {
                Npid = npid,
                Name = name,
                Node = Node,
                Stream = (Nefele.Client.LogStream)r.Stream,
                TimeUnixNano = r.TimeUnixNano,
                Offset = r.Offset,
                Data = r.Data.ToByteArray(),
            }).ToArray(),
            NextOffset = reply.NextOffset,
            Complete = reply.Complete,
            FirstOffset = reply.FirstOffset,
            UntilReached = reply.UntilReached,
        };
    }

    public async Task<IReadOnlyDictionary<string, (long CpuNs, long MemoryBytes)>> GetUsageAsync()
    {
        var reply = await Agent.GetUsageAsync(CancellationToken.None);
        return reply.Processes.ToDictionary(p => p.Npid, p => (p.CpuUsageNs, p.MemoryUsageBytes), StringComparer.Ordinal);
    }

    public async Task<UploadedLayer> PackOverlayAsync(string tenant, string image, string upload)
    {
        var reply = await Agent.CommitAsync(tenant, image, upload, CancellationToken.None);
        return new UploadedLayer { Digest = reply.Digest, Size = reply.Size };
    }

    public async Task ApplyNamesAsync(Naming.NameTable table)
    {
        if (!nameTables.Offer(table, Node))
        {
            return;
        }

        if (!table.IsEmptyInitial)
        {
            await PushNamesAsync(table);
        }
    }

    public async Task RepushNamesAsync(IReadOnlyCollection<string> tenants)
    {
        await Task.WhenAll(nameTables.All.Select(k => k.Table).Where(t => !t.IsEmptyInitial).Select(PushNamesAsync));
        await Task.WhenAll(tenants.Distinct(StringComparer.Ordinal).Select(AttachNames));
    }

    private async Task PushNamesAsync(Naming.NameTable table)
    {
        try
        {
            await Agent.PushNamesAsync(Naming.NameTableProto.ToProto(table), CancellationToken.None);
        }
        catch (NefeleException e)
        {
            // Not attached now: the table is kept and handed over when hostd attaches again.
            logger.LogDebug("Node {Node}: hostd did not take tenant {Tenant}'s names version {Version}: {Error}", Node, table.Tenant, table.Version, e.Message);
        }
    }

    /// <summary>Subscribes this node to the tenant's name service once (again after a failure).</summary>
    private Task<bool> AttachNames(string tenant)
    {
        // A hollow node takes no name tables: the name service would push every change to thousands of them.
        if (IsHollow)
        {
            return Task.FromResult(true);
        }

        if (_namesAttached.TryGetValue(tenant, out var attached) && !(attached.IsCompleted && !attached.Result))
        {
            return attached;
        }

        attached = AttachNamesAsync(tenant);
        _namesAttached[tenant] = attached;
        return attached;
    }

    private async Task<bool> AttachNamesAsync(string tenant)
    {
        try
        {
            var table = await GrainFactory.Get<Naming.INameServiceGrain>(tenant).AttachNodeAsync(Node);
            await ApplyNamesAsync(table);
            return true;
        }
        catch (Exception e)
        {
            // The launch goes on: the process starts without names rather than not at all; the next launch tries again.
            logger.LogWarning(e, "Node {Node} could not fetch tenant {Tenant}'s names", Node, tenant);
            return false;
        }
    }

    public Task DeclareHollowAsync(HollowNode node)
    {
        if (!IsHollow || node.Name != Node)
        {
            throw NefeleException.Bad($"only a hollow-<n> node can be declared hollow (this is {Node})");
        }

        var agent = agents.Declare(node);
        _reservations.Clear();
        _running.Clear();

        // Its load is declared, not measured: read once instead of by a timer.
        _cpuLoad = agent.CpuLoad;
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<string>> RemoveHollowAsync()
    {
        var running = agents.Remove(Node);
        _reservations.Clear();
        _running.Clear();
        _cpuLoad = 0;
        DeactivateOnIdle();
        return Task.FromResult(running);
    }

    /// <summary>The timer: latest measured load from hostd, and the directory entry kept current.</summary>
    private async Task RefreshAsync(CancellationToken ct)
    {
        if (Agent.Facts is not null)
        {
            try
            {
                var usage = await Agent.GetUsageAsync(ct);
                _cpuLoad = usage.NodeCpuLoad;
                _memoryUsed = usage.NodeMemoryUsedBytes;
            }
            catch (Exception e) when (e is NefeleException or OperationCanceledException or TimeoutException)
            {
                logger.LogDebug("Node {Node} load not refreshed: {Error}", Node, e.Message);
            }
        }

        var entry = new NodeEntry { Name = Node, Labels = Labels(), Devices = Devices() };
        var key = string.Join(';', entry.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"))
            + "|" + string.Join(';', entry.Devices.OrderBy(d => d.Key, StringComparer.Ordinal).Select(d => $"{d.Key}={d.Value}"));
        // Registered again now and then, so a directory that lost its memory fills again.
        if (key == _registered && ++_sinceRegistered < ReRegisterEvery)
        {
            return;
        }

        try
        {
            await GrainFactory.Get<INodeDirectoryGrain>(INodeDirectoryGrain.Key).RegisterAsync(entry);
            _registered = key;
            _sinceRegistered = 0;
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Node {Node} could not register its labels and devices; will retry", Node);
        }
    }

    private NodeOffer Score(IReadOnlyList<ResourceAsk> asks) =>
        NodeScoring.Offer(Node, Attached, Allocatable(), Taken(), asks, Devices(), TakenDevices(), CpuLoad());

    private double CpuLoad() => _cpuLoad;

    private IReadOnlyDictionary<string, string> Labels() => agents.ProfileOf(Node).Labels;

    /// <summary>Declared devices win over what hostd detected for the same name.</summary>
    private Dictionary<string, long> Devices()
    {
        var devices = new Dictionary<string, long>(StringComparer.Ordinal);
        if (Agent.Facts is { } facts)
        {
            foreach (var (name, count) in facts.Devices)
            {
                devices[name] = count;
            }
        }

        foreach (var (name, count) in agents.ProfileOf(Node).Devices)
        {
            devices[name] = count;
        }

        return devices;
    }

    private (long Cpu, long Memory) Allocatable()
    {
        var facts = Agent.Facts;
        if (facts is null)
        {
            return (0, 0);
        }

        var profile = agents.ProfileOf(Node);
        return (Math.Max(0, (facts.Cpus * 1000L) - profile.ReservedCpuMillis), Math.Max(0, facts.MemoryBytes - profile.ReservedMemoryBytes));
    }

    private (long Cpu, long Memory) Taken() =>
        (_reservations.Values.Sum(r => r.Ask.CpuMillis), _reservations.Values.Sum(r => r.Ask.MemoryBytes));

    private Dictionary<string, long> TakenDevices()
    {
        var taken = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var r in _reservations.Values)
        {
            foreach (var (name, count) in r.Ask.Devices ?? NoDevices)
            {
                taken[name] = taken.GetValueOrDefault(name) + count;
            }
        }

        return taken;
    }

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

    private const int ReRegisterEvery = 30;

    private readonly record struct Reservation(ResourceAsk Ask, long ExpiresAt, bool Committed);
}
