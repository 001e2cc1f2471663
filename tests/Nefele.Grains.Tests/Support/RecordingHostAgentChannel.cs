using System.Collections.Concurrent;
using Nefele.Nodes;
using Nefele.Protocol.V1;
using ProcessSpec = Nefele.Client.ProcessSpec;

namespace Nefele.Grains.Tests.Support;

/// <summary>
/// Stands in for hostd at grain level: reports a 2-cpu, 4 GiB machine, answers launches from
/// a script keyed by program path (Started with an increasing pid by default), and records
/// every launch and signal so tests can assert what the grains asked of the node.
/// </summary>
public sealed class RecordingHostAgentChannel(string node) : IHostAgentChannel
{
    public const int Cpus = 2;
    public const long MemoryBytes = 4L << 30;

    /// <summary>A program whose launch hostd refuses before exec (as for a missing file).</summary>
    public const string RejectedPath = "/nonexistent/program";

    /// <summary>A program that starts but never completes the handshake.</summary>
    public const string FailingPath = "/opt/test/refuses-handshake";

    public const string FailureReason = "handshake timed out after 5s";

    private readonly ConcurrentQueue<(string Npid, string Tenant, ProcessSpec Spec, bool Started)> _launches = new();
    private readonly ConcurrentQueue<(string Npid, int Signal)> _signals = new();
    private int _nextPid = 1000;

    public string Node { get; } = node;

    public NodeFacts? Facts { get; } = new()
    {
        Node = node,
        Hostname = node,
        Cpus = Cpus,
        MemoryBytes = MemoryBytes,
        Engine = "recording",
        Cgroups = "none",
    };

    public IReadOnlyList<(string Npid, string Tenant, ProcessSpec Spec, bool Started)> Launches => _launches.ToArray();

    public IReadOnlyList<(string Npid, int Signal)> Signals => _signals.ToArray();

    public int LaunchCount(string npid) => _launches.Count(l => l.Npid == npid);

    public Task<LaunchReply> LaunchAsync(string npid, string tenant, ProcessSpec spec, Nefele.Tenants.RunAs runAs, CancellationToken ct)
    {
        LaunchReply reply = spec.Path switch
        {
            RejectedPath => new LaunchReply
            {
                Rejected = new Error { Code = "spawn_rejected", Message = $"spawn rejected: {spec.Path}: no such file or directory" },
            },
            FailingPath => new LaunchReply
            {
                Failed = new FailedToStart { Pid = Interlocked.Increment(ref _nextPid), Reason = FailureReason },
            },
            _ => new LaunchReply
            {
                Started = new Started
                {
                    Pid = Interlocked.Increment(ref _nextPid),
                    StartedUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
                },
            },
        };
        _launches.Enqueue((npid, tenant, spec, reply.OutcomeCase == LaunchReply.OutcomeOneofCase.Started));
        return Task.FromResult(reply);
    }

    private readonly ConcurrentQueue<NameTableUpdate> _names = new();

    /// <summary>Every name table pushed to this node, in order.</summary>
    public IReadOnlyList<NameTableUpdate> NameTables => _names.ToArray();

    public Task PushNamesAsync(NameTableUpdate update, CancellationToken ct)
    {
        _names.Enqueue(update);
        return Task.CompletedTask;
    }

    public Task SignalAsync(string npid, int signal, CancellationToken ct)
    {
        _signals.Enqueue((npid, signal));
        Signaled(npid).TrySetResult();
        return Task.CompletedTask;
    }

    private readonly ConcurrentDictionary<string, TaskCompletionSource> _signaled = new();

    private TaskCompletionSource Signaled(string npid) => _signaled.GetOrAdd(npid, _ => new(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>Completes once <paramref name="npid"/> has been sent a signal (at once if it has been).</summary>
    public Task SignaledAsync(string npid) => Signaled(npid).Task;

    /// <summary>Terminal input and resizes sent to hostd, in order.</summary>
    public ConcurrentQueue<(string Npid, byte[] Data, int Rows, int Columns)> TerminalInputs { get; } = new();

    public Task TerminalInputAsync(string npid, ReadOnlyMemory<byte> data, int rows, int columns, CancellationToken ct)
    {
        TerminalInputs.Enqueue((npid, data.ToArray(), rows, columns));
        return Task.CompletedTask;
    }

    public Task<LogsReadReply> ReadLogsAsync(LogsReadRequest request, CancellationToken ct) =>
        Task.FromResult(new LogsReadReply { NextOffset = request.Offset, FirstOffset = 0 });

    public Task<UsageReply> GetUsageAsync(CancellationToken ct) => Task.FromResult(new UsageReply());

    public Task<IReadOnlyList<(DeliverReply? Reply, Error? Error)>> DeliverAsync(IReadOnlyList<DeliverRequest> batch, CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<(DeliverReply? Reply, Error? Error)>>(
            batch.Select(d => ((DeliverReply?)new DeliverReply { Delivered = (uint)d.Targets.Count }, (Error?)null)).ToArray());

    public Task<MailboxStatsReply> GetMailboxStatsAsync(CancellationToken ct) => Task.FromResult(new MailboxStatsReply());

    public Task<CommitReply> CommitAsync(string tenant, string image, string upload, CancellationToken ct) =>
        Task.FromException<CommitReply>(new Nefele.Client.NefeleException(Nefele.Client.ErrorCodes.OverlayNotFound, "this channel runs no container"));
}
