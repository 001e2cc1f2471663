using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Nefele.Client;
using Nefele.Processes;
using Nefele.Protocol.V1;
using Nefele.Tenants;
using ProcessEnd = Nefele.Client.ProcessEnd;
using ProcessSpec = Nefele.Client.ProcessSpec;
using ProcessState = Nefele.Client.ProcessState;

namespace Nefele.Nodes;

/// <summary>
/// A simulated host agent under a hollow node's real <see cref="NodeGrain"/> (as Kubernetes'
/// kubemark runs the real kubelet over a fake runtime): it reports the declared machine as its
/// facts, accepts every launch with a fake pid, and ends a process on SIGKILL or SIGTERM,
/// reporting the exit as hostd would. Fake pids are negative (-1, -2, … per node), so they can
/// never be mistaken for, or sent to, a real process. Nothing runs, nothing is written, no
/// mailbox exists: deliveries fail as to a process that does not run.
/// </summary>
public sealed class HollowHostAgent : IHostAgentChannel
{
    private readonly IGrainFactory grains;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly ConcurrentDictionary<string, int> running = new(StringComparer.Ordinal);
    private int lastPid;

    internal HollowHostAgent(string node, HollowNode? declaration, IGrainFactory grains, TimeProvider time, ILogger logger)
    {
        Node = node;
        this.grains = grains;
        this.time = time;
        this.logger = logger;
        if (declaration is null)
        {
            Profile = new NodeProfile(new Dictionary<string, string>(), new Dictionary<string, long>(), 0, 0);
            return;
        }

        // Whole cpus as hostd reports them; the part of the last one not declared is kept back,
        // so the node offers exactly the declared millicores.
        var cpus = (int)((declaration.CpuMillis + 999) / 1000);
        Facts = new NodeFacts
        {
            Node = node,
            Hostname = node,
            Cpus = cpus,
            MemoryBytes = declaration.MemoryBytes,
            Engine = "hollow",
            Cgroups = "none",
        };
        foreach (var (name, count) in declaration.Devices)
        {
            Facts.Devices[name] = count;
        }

        Profile = new NodeProfile(declaration.Labels, new Dictionary<string, long>(), (cpus * 1000L) - declaration.CpuMillis, 0);
        CpuLoad = declaration.CpuLoad;
    }

    public string Node { get; }

    /// <summary>The declared machine; null for a hollow node not (or no longer) declared.</summary>
    public NodeFacts? Facts { get; }

    /// <summary>The declaration's labels, and a reserve that makes the offered cpu the declared millicores.</summary>
    public NodeProfile Profile { get; }

    /// <summary>The declared load, reported as the measured one.</summary>
    public double CpuLoad { get; }

    /// <summary>What runs here now.</summary>
    public IReadOnlyList<string> Running => running.Keys.ToArray();

    public Task<LaunchReply> LaunchAsync(string npid, string tenant, ProcessSpec spec, RunAs runAs, CancellationToken ct)
    {
        if (Facts is null)
        {
            throw new NefeleException(ErrorCodes.NodeUnavailable, $"hollow node {Node} is not declared");
        }

        var pid = running.GetOrAdd(npid, _ => Interlocked.Decrement(ref lastPid));
        return Task.FromResult(new LaunchReply { Started = new Started { Pid = pid, StartedUnixMs = time.GetUtcNow().ToUnixTimeMilliseconds() } });
    }

    public Task SignalAsync(string npid, int signal, CancellationToken ct)
    {
        if (!running.ContainsKey(npid))
        {
            throw new NefeleException(ErrorCodes.NotRunning, $"hollow node {Node} runs no process {npid}");
        }

        if (signal is Signals.SigKill or Signals.SigTerm && running.TryRemove(npid, out _))
        {
            // Not awaited: the process grain is waiting on this call and takes the exit after it.
            _ = ReportExitAsync(npid, signal);
        }

        return Task.CompletedTask;
    }

    /// <summary>A hollow node's processes are not real and have no terminal.</summary>
    public Task TerminalInputAsync(string npid, ReadOnlyMemory<byte> data, int rows, int columns, CancellationToken ct) =>
        Task.FromException(running.ContainsKey(npid)
            ? new NefeleException(ErrorCodes.BadRequest, $"process {npid} runs on hollow node {Node}, which gives processes no terminal")
            : new NefeleException(ErrorCodes.NotRunning, $"hollow node {Node} runs no process {npid}"));

    public Task<LogsReadReply> ReadLogsAsync(LogsReadRequest request, CancellationToken ct) =>
        Task.FromResult(new LogsReadReply { Complete = !running.ContainsKey(request.Npid) });

    public Task<UsageReply> GetUsageAsync(CancellationToken ct)
    {
        var reply = new UsageReply { NodeCpuLoad = CpuLoad };
        reply.Processes.AddRange(running.Keys.Select(npid => new ProcessUsage { Npid = npid }));
        return Task.FromResult(reply);
    }

    public Task<IReadOnlyList<(DeliverReply? Reply, Error? Error)>> DeliverAsync(IReadOnlyList<DeliverRequest> batch, CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<(DeliverReply?, Error?)>>(batch
            .Select(_ => ((DeliverReply?)null, (Error?)new Error { Code = ErrorCodes.NotRunning, Message = $"hollow node {Node} runs no real process" }))
            .ToArray());

    public Task<MailboxStatsReply> GetMailboxStatsAsync(CancellationToken ct) => Task.FromResult(new MailboxStatsReply());

    /// <summary>A hollow node runs no container, so it has no overlay to commit.</summary>
    public Task<CommitReply> CommitAsync(string tenant, string image, string upload, CancellationToken ct) =>
        Task.FromException<CommitReply>(new NefeleException(ErrorCodes.OverlayNotFound, $"hollow node {Node} runs no container: there is no overlay of {image} to commit"));

    /// <summary>A hollow node takes no name tables (see <see cref="NodeGrain"/>); one handed over anyway is dropped.</summary>
    public Task PushNamesAsync(NameTableUpdate update, CancellationToken ct) => Task.CompletedTask;

    /// <summary>
    /// The process ended: its room on the node is freed first, then its end reported, so whoever
    /// waits for the end finds the room free (hostd's exits free it as the process grain ends).
    /// </summary>
    private async Task ReportExitAsync(string npid, int signal)
    {
        try
        {
            await grains.GetGrain<INodeGrain>(Node).ReleaseAsync(npid);
            await grains.GetGrain<IProcessGrain>(npid).OnExitedAsync(new ProcessEnd
            {
                State = ProcessState.Exited,
                Signal = signal,
                EndedAt = time.GetUtcNow(),
            });
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Hollow node {Node} could not report the end of {Npid}", Node, npid);
        }
    }
}
