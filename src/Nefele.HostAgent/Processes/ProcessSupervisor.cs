using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Nefele.HostAgent.Control;
using Nefele.HostAgent.Engines;
using Nefele.HostAgent.Logs;
using Nefele.HostAgent.Logs.Export;
using Nefele.HostAgent.Messaging;
using Nefele.Protocol.V1;
using Nefele.Tracing;
using ErrorCodes = Nefele.Client.ErrorCodes;

namespace Nefele.HostAgent.Processes;

/// <summary>
/// hostd's one piece of state: the processes it runs, their handshakes, unacknowledged exits,
/// and the attached silo connection. Everything that must be ordered (a launch reply before
/// the exit that follows it, an attach snapshot before later exits) is decided under one lock
/// and queued on the connection in that order. The engine runs the processes; this class
/// keeps them by NPID and by the engine's <see cref="LocalProcessId"/>.
/// </summary>
/// <remarks>
/// Its jobs, one file each: the silo connection and the silo's requests (here), launch
/// coordination (<c>.Launch</c>), handshakes and api callers (<c>.Handshake</c>), exits and
/// acknowledgements (<c>.Exits</c>), node stop (<c>.Stop</c>); with helpers that keep their own
/// state: <see cref="LaunchValidation"/>, <see cref="LaunchTokens"/>, <see cref="EndedLogs"/>
/// and <see cref="SiloCalls"/> (process API calls the silo answers).
/// </remarks>
public sealed partial class ProcessSupervisor : IAsyncDisposable
{
    private const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    // Output still arriving from a pipe after its process exited (from its own children) is
    // waited for this long before reporting the log complete and reading the last line.
    private static readonly TimeSpan DrainGrace = TimeSpan.FromSeconds(1);
    private readonly HostAgentOptions options;
    private readonly Shared.TenantDirectories tenantDirectories;
    private readonly Images.ImageCache images;
    private readonly IProcessEngine engine;
    private readonly ILogger logger;
    private readonly ResourceLimits limits;
    private readonly Lock gate = new();
    private readonly Dictionary<string, TrackedProcess> byNpid = new(StringComparer.Ordinal);

    private readonly EndedLogs endedLogs;
    private readonly LogExports exports;
    private readonly LaunchTokens tokens = new();
    private readonly SiloCalls siloCalls = new();

    // Started processes by the engine's id, until their end is acknowledged (or the start failed).
    private readonly Dictionary<LocalProcessId, TrackedProcess> byId = [];

    // Host pids of running processes, for the handshake (SO_PEERCRED) and api callers.
    private readonly Dictionary<int, TrackedProcess> byPid = [];

    // Exits reaped before the launch that started them has recorded the id (the reaper can
    // be faster than the spawn call's continuation); picked up when the id is recorded.
    private readonly Dictionary<LocalProcessId, ProcessExit> earlyExits = [];
    private readonly CancellationTokenSource stop = new();
    private readonly Task exitLoop;
    private IControlConnection? attached;

    public ProcessSupervisor(HostAgentOptions options, IProcessEngine engine, PostOffice post, ILogger<ProcessSupervisor> logger,
        Shared.TenantDirectories tenantDirectories, Images.ImageCache images, LogExports? exports = null)
    {
        this.exports = exports ?? LogExports.None;
        this.options = options;
        this.tenantDirectories = tenantDirectories;
        this.images = images;
        Post = post;
        this.engine = engine;
        this.logger = logger;
        limits = new ResourceLimits(options);
        endedLogs = new EndedLogs(options);
        exitLoop = Task.Run(ExitLoopAsync);
    }

    public string Node => options.Node;

    /// <summary>The node's mailboxes: one per process, opened at its launch and ended with it.</summary>
    public PostOffice Post { get; }

    // ---- silo connection -------------------------------------------------------------

    /// <summary>Makes <paramref name="connection"/> the attached silo and queues the AttachReply on it.</summary>
    internal void Attach(IControlConnection connection, ulong requestId, NodeFacts facts)
    {
        lock (gate)
        {
            var reply = new AttachReply { Facts = facts };
            reply.Processes.AddRange(byNpid.Values.Where(p => p.Exit is null && p.Pid > 0 && (p.Running || !p.Launch.Task.IsCompleted)).Select(p => p.ToLocalProcess()));
            reply.PendingExits.AddRange(byNpid.Values.Where(p => p.Exit is not null && p.LaunchReported).Select(p => p.Exit!));
            connection.Enqueue(new ControlEvent { Id = requestId, Attached = reply });
            attached = connection;
            siloCalls.Attach(connection);
            Post.Attach(connection);
        }
    }

    /// <summary>The connection is gone: calls waiting on the silo fail, exits wait for the next attach.</summary>
    internal void Detach(IControlConnection connection)
    {
        lock (gate)
        {
            if (!ReferenceEquals(attached, connection))
            {
                return;
            }

            attached = null;
        }

        Post.Detach(connection);
        siloCalls.Detach(connection);
    }

    /// <summary>Forwards a process's API call to the attached silo and waits for its answer.</summary>
    internal Task<ProcResponse> ForwardAsync(string tenant, string callerNpid, ProcRequest request, CancellationToken ct) =>
        siloCalls.ForwardAsync(tenant, callerNpid, request, ct);

    internal void CompleteProcCall(ProcCallReply reply) => siloCalls.Complete(reply);

    // ---- requests from the silo ------------------------------------------------------

    /// <summary>Signals the process only; null on success, else the Error to return.</summary>
    /// <remarks>
    /// Traced as a child of <paramref name="traced"/> (the silo's span that asked), linked to the
    /// process's own trace (its spawn).
    /// </remarks>
    public async Task<Error?> SignalAsync(string npid, int signal, CancellationToken ct, ActivityContext traced = default)
    {
        if (signal is <= 0 or > 64)
        {
            return new Error { Code = ErrorCodes.BadRequest, Message = $"signal {signal} is not a signal number (1-64)" };
        }

        LocalProcessId? id;
        ActivityContext spawned;
        lock (gate)
        {
            var known = byNpid.TryGetValue(npid, out var p);
            id = known && p!.Exit is null ? p.Id : null;
            spawned = known ? p!.Trace : default;
        }

        using var span = HostAgentTelemetry.ActivitySource.StartActivity(
            "nefele.hostd.signal", ActivityKind.Server, traced, links: spawned == default ? null : [new ActivityLink(spawned)]);
        span?.SetTag(SpanAttributes.Npid, npid);
        span?.SetTag(SpanAttributes.Node, options.Node);
        span?.SetTag(SpanAttributes.Signal, signal);
        if (id is { } live && await engine.SignalAsync(live, signal, SignalTarget.MainProcess, ct))
        {
            return null;
        }

        var error = new Error { Code = ErrorCodes.NotRunning, Message = $"{npid} is not running on node {options.Node}" };
        span?.SetStatus(ActivityStatusCode.Error, error.Message);
        return error;
    }

    /// <summary>Reads a process's output; null if hostd knows no such process.</summary>
    public async Task<LogsReadReply?> ReadLogsAsync(LogsReadRequest request, CancellationToken ct)
    {
        ProcessLog? log;
        lock (gate)
        {
            log = byNpid.TryGetValue(request.Npid, out var p) ? p.Log : endedLogs.Get(request.Npid);
        }

        if (log is null)
        {
            return null;
        }

        var chunk = await log.ReadAsync(request.Offset, request.MaxBytes, TimeSpan.FromMilliseconds(Math.Max(0, request.WaitMs)), ct, request.Stream);
        var reply = new LogsReadReply
        {
            NextOffset = chunk.NextOffset,
            Complete = chunk.Complete,
            FirstOffset = chunk.FirstOffset,
        };
        if (request.Records)
        {
            reply.Records.AddRange(chunk.Records);
        }
        else
        {
            reply.Data = Google.Protobuf.ByteString.CopyFrom(chunk.Data);
        }

        return reply;
    }

    public UsageReply Usage()
    {
        List<TrackedProcess> live;
        lock (gate)
        {
            live = byNpid.Values.Where(p => p.Exit is null && p.Id is not null).ToList();
        }

        var reply = new UsageReply();
        foreach (var p in live)
        {
            if (engine.Usage(p.Id!.Value) is { } sample)
            {
                reply.Processes.Add(new ProcessUsage { Npid = p.Npid, CpuUsageNs = sample.CpuUsageNs, MemoryUsageBytes = sample.MemoryUsageBytes });
            }
        }

        return reply;
    }

    private int disposed;

    public async ValueTask DisposeAsync()
    {
        // Called by hostd's orderly stop and again by the container.
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }

        await stop.CancelAsync();
        await exitLoop;
        stop.Dispose();
    }

    // ---- helpers ---------------------------------------------------------------------

    private static string Describe(ProcessExit exit) =>
        exit.Signal != 0
            ? $"killed by signal {exit.Signal}{(exit.CoreDumped ? " (core dumped)" : "")}{(exit.OomKilled ? " (out of memory)" : "")}"
            : $"exited with status {exit.ExitCode}";

    private static string LastLineSuffix(ProcessLog log) => log.LastLine() is { Length: > 0 } line ? $": {line}" : "";

    private static LaunchReply Failed(TrackedProcess p, string reason) =>
        new() { Failed = new FailedToStart { Pid = p.Pid, Reason = reason } };

    private static LaunchReply Rejected(string message, string code = ErrorCodes.SpawnRejected) =>
        new() { Rejected = new Error { Code = code, Message = message } };

    internal static ProcResponse ErrorResponse(string code, string message) =>
        new() { Error = new Error { Code = code, Message = message } };


}
