using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Nefele.HostAgent.Cgroups;
using Nefele.HostAgent.Containers;
using Nefele.HostAgent.Control;
using Nefele.HostAgent.Engines;
using Nefele.HostAgent.Logs;
using Nefele.HostAgent.Messaging;
using Nefele.Protocol;
using Nefele.Protocol.V1;
using Nefele.Validation;
using ErrorCodes = Nefele.Client.ErrorCodes;

namespace Nefele.HostAgent.Processes;

/// <summary>
/// hostd's one piece of state: the processes it runs, their handshakes, unacknowledged exits,
/// and the attached silo connection. Everything that must be ordered (a launch reply before
/// the exit that follows it, an attach snapshot before later exits) is decided under one lock
/// and queued on the connection in that order.
/// </summary>
public sealed partial class ProcessSupervisor : IAsyncDisposable
{
    private const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    // Output still arriving from a pipe after its process exited (from its own children) is
    // waited for this long before reporting the log complete and reading the last line.
    private static readonly TimeSpan DrainGrace = TimeSpan.FromSeconds(1);
    private readonly HostAgentOptions options;
    private readonly IProcessEngine engine;
    private readonly ILogger logger;
    private readonly ResourceLimits limits;
    private readonly Lock gate = new();
    private readonly Dictionary<string, TrackedProcess> byNpid = new(StringComparer.Ordinal);

    // Logs of acknowledged exits, oldest first, bounded by EndedLogsKept.
    private readonly Dictionary<string, ProcessLog> endedLogs = new(StringComparer.Ordinal);
    private readonly Queue<string> endedOrder = new();
    // Started processes by the engine's id, until their end is acknowledged (or the start failed).
    private readonly Dictionary<LocalProcessId, TrackedProcess> byId = [];

    // Host pids of running processes, for the handshake (SO_PEERCRED) and api callers.
    private readonly Dictionary<int, TrackedProcess> byPid = [];
    private readonly Dictionary<string, TrackedProcess> byToken = new(StringComparer.Ordinal);
    private readonly HashSet<string> usedTokens = new(StringComparer.Ordinal);
    private readonly Dictionary<ulong, TaskCompletionSource<ProcResponse>> procCalls = [];

    // Exits reaped before the launch that started them has recorded the id (the reaper can
    // be faster than the spawn call's continuation); picked up when the id is recorded.
    private readonly Dictionary<LocalProcessId, ProcessExit> earlyExits = [];
    private readonly CancellationTokenSource stop = new();
    private readonly Task exitLoop;
    private IControlConnection? attached;
    private ulong nextCallId;

    public ProcessSupervisor(HostAgentOptions options, IProcessEngine engine, PostOffice post, ILogger<ProcessSupervisor> logger)
    {
        this.options = options;
        Post = post;
        this.engine = engine;
        this.logger = logger;
        limits = new ResourceLimits(options);
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
            Post.Attach(connection);
        }
    }

    /// <summary>The connection is gone: calls waiting on the silo fail, exits wait for the next attach.</summary>
    internal void Detach(IControlConnection connection)
    {
        List<TaskCompletionSource<ProcResponse>> orphaned;
        lock (gate)
        {
            if (!ReferenceEquals(attached, connection))
            {
                return;
            }

            attached = null;
            orphaned = [.. procCalls.Values];
            procCalls.Clear();
        }

        Post.Detach(connection);

        foreach (var call in orphaned)
        {
            call.TrySetResult(ErrorResponse(ErrorCodes.ControlPlaneUnavailable, "the silo disconnected before answering"));
        }
    }

    // ---- launch ----------------------------------------------------------------------

    /// <summary>
    /// Launches a process for <paramref name="connection"/>. Its LaunchReply (Started, Failed or
    /// Rejected) is queued there under <paramref name="requestId"/> by whichever thread decides
    /// it, the moment it is decided: for a handshake, as the hello is read, before the shim has
    /// its answer. With <paramref name="startHere"/> the process is started on the calling thread
    /// (held until exec: no hand-off before the clone); otherwise on the thread pool, so the
    /// caller can go on reading the requests queued behind this one.
    /// </summary>
    internal void Launch(LaunchRequest request, IControlConnection connection, ulong requestId, bool startHere)
    {
        var spec = request.Spec ?? new ProcessSpec();
        if (Validate(request) is { } problem)
        {
            connection.Enqueue(new ControlEvent { Id = requestId, Launched = Rejected(problem) });
            return;
        }

        if (PostOffice.CheckBounds(spec) is { } bounds)
        {
            connection.Enqueue(new ControlEvent { Id = requestId, Launched = Rejected(bounds, ErrorCodes.BadRequest) });
            return;
        }

        var (rlimits, limitProblem) = limits.For(request);
        if (rlimits is null)
        {
            connection.Enqueue(new ControlEvent { Id = requestId, Launched = Rejected(limitProblem!) });
            return;
        }

        var token = spec.NoHandshake ? null : Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var p = new TrackedProcess(request.Npid, request.Tenant, spec, token, new ProcessIdentity(request.Uid, request.Gid, rlimits));
        lock (gate)
        {
            // A retried launch (e.g. after the silo reconnected) gets the first one's answer.
            if (byNpid.TryGetValue(request.Npid, out var existing))
            {
                if (existing.Launch.Task.IsCompleted)
                {
                    ReportLaunchLocked(existing, connection, requestId);
                }
                else
                {
                    existing.Waiters.Add((connection, requestId));
                }

                return;
            }

            byNpid[p.Npid] = p;
            if (token is not null)
            {
                byToken[token] = p;
            }

            // Before the process runs: it may be sent to (and receive) from its first instruction.
            Post.Open(p.Npid, p.Tenant, spec);

            p.Waiters.Add((connection, requestId));
        }

        _ = startHere ? RunLaunchAsync(p) : Task.Run(() => RunLaunchAsync(p));
    }

    /// <summary>Decides the launch's outcome (once) and queues it on every connection that asked.</summary>
    private bool CompleteLaunchLocked(TrackedProcess p, LaunchReply reply)
    {
        if (!p.Launch.TrySetResult(reply))
        {
            return false;
        }

        foreach (var (connection, id) in p.Waiters)
        {
            ReportLaunchLocked(p, connection, id);
        }

        p.Waiters.Clear();
        return true;
    }

    /// <summary>Queues the decided LaunchReply; an exit already known follows it.</summary>
    private void ReportLaunchLocked(TrackedProcess p, IControlConnection connection, ulong requestId)
    {
        connection.Enqueue(new ControlEvent { Id = requestId, Launched = p.Launch.Task.Result });
        if (!p.LaunchReported)
        {
            p.LaunchReported = true;
            if (p.Exit is not null)
            {
                attached?.Enqueue(new ControlEvent { Exited = p.Exit });
            }
        }
    }

    private async Task RunLaunchAsync(TrackedProcess p)
    {
        var spec = p.Spec;
        // The unpacked image the process runs from (filled from the launch's image); with tenant
        // containers on, a process from an image runs in its tenant's container for that image.
        string? imageRoot = null;
        string? container = imageRoot is not null && engine is ContainerEngine ? ContainerManager.NameFor(p.Tenant, imageRoot) : null;
        p.Container = container;
        var paths = ProcessPaths.For(container, options);
        var env = new Dictionary<string, string>(spec.Env, StringComparer.Ordinal);
        env.TryAdd("PATH", DefaultPath);
        env["NEFELE_SOCKET"] = paths.ApiSocket;
        if (p.Token is not null)
        {
            env["NEFELE_TOKEN"] = p.Token;
            env["LD_PRELOAD"] = env.TryGetValue("LD_PRELOAD", out var preload) && preload.Length > 0
                ? paths.Shim + ":" + preload
                : paths.Shim;
        }

        var launch = new LaunchSpec(
            p.Npid, p.Tenant, spec.Path, [.. spec.Args], env,
            string.IsNullOrEmpty(spec.Cwd) ? "/" : spec.Cwd,
            new CgroupLimits(spec.CpuMillis, spec.MemoryBytes),
            p.Identity,
            paths,
            container,
            imageRoot);
        StartedProcess started;
        try
        {
            SpawnTrace.Mark("h.start_call", p.Npid);
            started = await engine.StartAsync(launch, stop.Token);
            SpawnTrace.Mark("h.start_ret", p.Npid);
        }
        catch (Exception e)
        {
            var (code, message) = e is SpawnRejectedException refused ? (refused.Code, refused.Message) : (ErrorCodes.SpawnRejected, $"spawn rejected: {e.Message}");
            lock (gate)
            {
                byNpid.Remove(p.Npid);
                if (p.Token is not null)
                {
                    byToken.Remove(p.Token);
                }

                CompleteLaunchLocked(p, Rejected(message, code));
            }

            Post.Close(p.Npid);

            p.Spawned.TrySetResult(0);
            return;
        }

        var log = new ProcessLog(options.LogDirectory, p.Npid, options.LogLimitBytes);
        log.StartReader(started.Output);
        lock (gate)
        {
            p.Id = started.Id;
            p.Pid = started.Pid;
            p.StartedUnixMs = started.StartedUnixMs;
            p.Log = log;
            byId[started.Id] = p;
            byPid[p.Pid] = p;
            if (p.Token is null)
            {
                MarkRunningLocked(p);
            }

            if (earlyExits.Remove(started.Id, out var early))
            {
                ForgetLiveLocked(p);
                _ = Task.Run(() => OnExitAsync(p, early));
            }
        }

        p.Spawned.TrySetResult(p.Pid);
        if (p.Token is null)
        {
            return;
        }

        try
        {
            await p.Launch.Task.WaitAsync(options.HandshakeTimeout, stop.Token);
        }
        catch (TimeoutException)
        {
            var seconds = options.HandshakeTimeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
            var failed = Failed(p, $"no handshake within {seconds}s: the program did not load libnefele-shim.so (a static binary?); spawn it with no_handshake to run it without the handshake");
            bool timedOut;
            lock (gate)
            {
                timedOut = CompleteLaunchLocked(p, failed);
                if (timedOut)
                {
                    // The token dies with the launch: a late hello must not revive it.
                    byToken.Remove(p.Token);
                    usedTokens.Add(p.Token);
                }
            }

            if (timedOut)
            {
                await engine.SignalAsync(p.Id!.Value, Interop.LibC.SIGKILL, SignalTarget.MainProcess, CancellationToken.None);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// Takes in the processes the engine re-adopted at start-up as running ones, so the next
    /// AttachReply lists them and the control plane keeps them; their exits come as any other's.
    /// </summary>
    public void Adopt(IReadOnlyList<RecoveredProcess> recovered)
    {
        foreach (var r in recovered)
        {
            var spec = r.Spec ?? new ProcessSpec();
            var p = new TrackedProcess(r.Npid, r.Tenant, spec, null, new ProcessIdentity(r.Uid, r.Gid, []))
            {
                Id = r.Process.Id,
                Pid = r.Process.Pid,
                StartedUnixMs = r.Process.StartedUnixMs,
                Log = new ProcessLog(options.LogDirectory, r.Npid, options.LogLimitBytes),
                LaunchReported = true,
            };
            p.Log.StartReader(r.Process.Output);
            lock (gate)
            {
                if (!byNpid.TryAdd(p.Npid, p))
                {
                    logger.LogWarning("Recovered {Npid} twice: the second ({Id}) is ignored", p.Npid, p.Id);
                    continue;
                }

                Post.Open(p.Npid, p.Tenant, spec);
                byId[r.Process.Id] = p;
                byPid[p.Pid] = p;
                MarkRunningLocked(p);
                if (earlyExits.Remove(r.Process.Id, out var early))
                {
                    ForgetLiveLocked(p);
                    _ = Task.Run(() => OnExitAsync(p, early));
                }
            }

            p.Spawned.TrySetResult(p.Pid);
            logger.LogInformation("Recovered {Npid} (pid {Pid}) of tenant {Tenant}", p.Npid, p.Pid, p.Tenant);
        }
    }

    private void MarkRunningLocked(TrackedProcess p)
    {
        if (p.Launch.Task.IsCompleted)
        {
            return;
        }

        p.Running = true;
        CompleteLaunchLocked(p, new LaunchReply { Started = new Started { Pid = p.Pid, StartedUnixMs = p.StartedUnixMs, Container = p.Container ?? string.Empty } });
        HostAgentTelemetry.ProcessStarts.Add(1);
    }

    // ---- handshake -------------------------------------------------------------------

    /// <summary>Answers a shim's hello: Welcome if the token is this peer's launch token (its pid and uid), else Refused.</summary>
    public async Task<ProcResponse> HelloAsync(Hello hello, int peerPid, uint peerUid, ulong requestId)
    {
        TrackedProcess? owner;
        lock (gate)
        {
            byToken.TryGetValue(hello.Token, out owner);
        }

        if (owner is not null)
        {
            // The shim can say hello before the spawn call has returned our side its pid.
            try
            {
                await owner.Spawned.Task.WaitAsync(options.HandshakeTimeout);
            }
            catch (TimeoutException)
            {
            }
        }

        string reason;
        lock (gate)
        {
            if (byToken.TryGetValue(hello.Token, out owner) && owner.Pid == peerPid && owner.Identity.Uid == peerUid)
            {
                SpawnTrace.Mark("h.hello", $"{owner.Npid} pid{peerPid}");
                byToken.Remove(hello.Token);
                usedTokens.Add(hello.Token);
                MarkRunningLocked(owner);
                return new ProcResponse { Id = requestId, Welcome = new Welcome { Npid = owner.Npid, Tenant = owner.Tenant, Node = options.Node } };
            }

            reason = owner is not null ? "launch token belongs to another process"
                : usedTokens.Contains(hello.Token) ? "launch token already used"
                : "unknown launch token";

            // One of our launches presenting a bad token: its exit (121) becomes a failed start with this reason.
            if (byPid.TryGetValue(peerPid, out var refused) && !refused.Launch.Task.IsCompleted)
            {
                refused.RefusalReason = reason;
            }
        }

        logger.LogInformation("Refused handshake from pid {Pid}: {Reason}", peerPid, reason);
        return new ProcResponse { Id = requestId, Refused = new Refused { Reason = reason } };
    }

    // ---- exits -----------------------------------------------------------------------

    private async Task ExitLoopAsync()
    {
        try
        {
            await foreach (var exit in engine.ExitsAsync(stop.Token))
            {
                TrackedProcess? p;
                lock (gate)
                {
                    if (byId.TryGetValue(exit.Id, out p) && p.Exit is null)
                    {
                        ForgetLiveLocked(p);
                    }
                    else
                    {
                        earlyExits[exit.Id] = exit;
                    }
                }

                // Run on the reaper's thread up to the first wait (for output still draining).
                if (p is not null)
                {
                    SpawnTrace.Mark("h.exit_loop", p.Npid);
                    _ = OnExitAsync(p, exit);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task OnExitAsync(TrackedProcess p, ProcessExit exit)
    {
        // The mailbox ends with the process, before its end is reported: whoever hears of the end
        // and then sends to it is told it has ended.
        Post.Close(p.Npid);
        var log = p.Log!;
        if (!log.Drained.IsCompleted)
        {
            try
            {
                await log.Drained.WaitAsync(DrainGrace);
            }
            catch (TimeoutException)
            {
            }
        }

        log.MarkEnded();
        var end = new ProcessEnd
        {
            State = ProcessState.Exited,
            ExitCode = exit.ExitCode,
            Signal = exit.Signal,
            CoreDumped = exit.CoreDumped,
            OomKilled = exit.OomKilled,
            EndedUnixMs = exit.EndedUnixMs,
        };
        var exited = new ProcessExited { Npid = p.Npid, Tenant = p.Tenant, Pid = p.Pid, End = end, Spec = p.Spec, StartedUnixMs = p.StartedUnixMs };
        bool failedStart;
        lock (gate)
        {
            var reason = p.RefusalReason is not null && exit.ExitCode == 121
                ? $"handshake refused: {p.RefusalReason}"
                : $"{Describe(exit)} before the handshake{LastLineSuffix(log)}";
            failedStart = !p.Running;
            if (failedStart)
            {
                // Failed starts end with the LaunchReply: nothing is kept for the silo to ack.
                CompleteLaunchLocked(p, Failed(p, reason));
                byNpid.Remove(p.Npid);
                ForgetIdLocked(p);
                if (p.Token is not null && byToken.Remove(p.Token))
                {
                    usedTokens.Add(p.Token);
                }
            }
            else
            {
                p.Exit = exited;
                HostAgentTelemetry.ProcessExits.Add(1);
                if (p.LaunchReported)
                {
                    SpawnTrace.Mark("h.exit_enq", p.Npid);
                    attached?.Enqueue(new ControlEvent { Exited = exited });
                }
            }
        }

        logger.LogInformation("{Npid} (pid {Pid}) ended: {Exit}", p.Npid, p.Pid, Describe(exit));
        if (failedStart)
        {
            log.Delete();
            await engine.ReleaseAsync(p.Id!.Value);
        }
    }

    /// <summary>The process's end is settled (acknowledged, or a failed start): its id goes.</summary>
    private void ForgetIdLocked(TrackedProcess p)
    {
        if (p.Id is { } id && byId.TryGetValue(id, out var q) && ReferenceEquals(q, p))
        {
            byId.Remove(id);
        }
    }

    /// <summary>The process has exited: its pid may be reused, so it no longer names it.</summary>
    private void ForgetLiveLocked(TrackedProcess p)
    {
        if (byPid.TryGetValue(p.Pid, out var q) && ReferenceEquals(q, p))
        {
            byPid.Remove(p.Pid);
        }
    }

    /// <summary>
    /// Forgets an acknowledged exit: its record, and the engine frees its cgroup or unit. Its
    /// output stays readable among the last <see cref="HostAgentOptions.EndedLogsKept"/> ended processes.
    /// </summary>
    public void AckExit(string npid)
    {
        TrackedProcess? p = null;
        var dropped = new List<ProcessLog>();
        lock (gate)
        {
            if (byNpid.TryGetValue(npid, out var candidate) && candidate.Exit is not null)
            {
                byNpid.Remove(npid);
                p = candidate;
                ForgetIdLocked(p);
                if (p.Log is not null && endedLogs.TryAdd(npid, p.Log))
                {
                    endedOrder.Enqueue(npid);
                }

                while (endedOrder.Count > options.EndedLogsKept && endedOrder.TryDequeue(out var oldest))
                {
                    if (endedLogs.Remove(oldest, out var old))
                    {
                        dropped.Add(old);
                    }
                }
            }
        }

        foreach (var log in dropped)
        {
            log.Delete();
        }

        if (p?.Id is { } id)
        {
            // The native engine's release is synchronous; an engine that must wait does so on its own.
            _ = engine.ReleaseAsync(id).AsTask();
        }
    }

    // ---- requests from the silo ------------------------------------------------------

    /// <summary>Signals the process only; null on success, else the Error to return.</summary>
    public async Task<Error?> SignalAsync(string npid, int signal, CancellationToken ct)
    {
        if (signal is <= 0 or > 64)
        {
            return new Error { Code = ErrorCodes.BadRequest, Message = $"signal {signal} is not a signal number (1-64)" };
        }

        LocalProcessId? id;
        lock (gate)
        {
            id = byNpid.TryGetValue(npid, out var p) && p.Exit is null ? p.Id : null;
        }

        return id is { } live && await engine.SignalAsync(live, signal, SignalTarget.MainProcess, ct)
            ? null
            : new Error { Code = ErrorCodes.NotRunning, Message = $"{npid} is not running on node {options.Node}" };
    }

    /// <summary>Reads a process's output; null if hostd knows no such process.</summary>
    public async Task<LogsReadReply?> ReadLogsAsync(LogsReadRequest request, CancellationToken ct)
    {
        ProcessLog? log;
        lock (gate)
        {
            log = byNpid.TryGetValue(request.Npid, out var p) ? p.Log : endedLogs.GetValueOrDefault(request.Npid);
        }

        if (log is null)
        {
            return null;
        }

        var chunk = await log.ReadAsync(request.Offset, request.MaxBytes, TimeSpan.FromMilliseconds(Math.Max(0, request.WaitMs)), ct);
        return new LogsReadReply
        {
            Data = Google.Protobuf.ByteString.CopyFrom(chunk.Data),
            NextOffset = chunk.NextOffset,
            Complete = chunk.Complete,
            FirstOffset = chunk.FirstOffset,
        };
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

    // ---- api calls from processes ----------------------------------------------------

    /// <summary>
    /// The live Nefele process a connection on the api socket speaks for: the process itself or
    /// one of its descendants, found by the engine (<see cref="IProcessOwnership"/>: the cgroup or
    /// unit the peer lives in, which a process cannot leave), never by the pids it claims or by
    /// walking parent pids, which can be reused. The answer
    /// stands only if the peer, named by <paramref name="pidfd"/> (taken when it connected), is
    /// still alive after /proc was read, and its uid (SO_PEERCRED) is that process's uid.
    /// </summary>
    internal CallerIdentity? IdentifyCaller(int pid, uint uid, int pidfd)
    {
        string? npid;
        lock (gate)
        {
            npid = byPid.TryGetValue(pid, out var main) && main.Running ? main.Npid : null;
        }

        if (npid is null && (engine as IProcessOwnership)?.OwnerOf(pid) is { } owner)
        {
            lock (gate)
            {
                npid = byId.GetValueOrDefault(owner)?.Npid;
            }
        }

        // Without a pidfd (kernels before 5.3) the uid check below still keeps tenants apart.
        if (npid is null || (pidfd >= 0 && !Interop.PidFd.Alive(pidfd)))
        {
            return null;
        }

        lock (gate)
        {
            return byNpid.TryGetValue(npid, out var p) && p.Running && p.Exit is null && p.Identity.Uid == uid
                ? new CallerIdentity(p.Npid, p.Tenant)
                : null;
        }
    }

    /// <summary>Forwards a process's API call to the attached silo and waits for its answer.</summary>
    internal async Task<ProcResponse> ForwardAsync(string tenant, string callerNpid, ProcRequest request, CancellationToken ct)
    {
        var answer = new TaskCompletionSource<ProcResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        ulong callId;
        lock (gate)
        {
            if (attached is null)
            {
                return ErrorResponse(ErrorCodes.ControlPlaneUnavailable, "no silo is attached to this node's hostd");
            }

            callId = ++nextCallId;
            procCalls[callId] = answer;
            attached.Enqueue(new ControlEvent
            {
                ProcCall = new ProcCall { CallId = callId, Tenant = tenant, CallerNpid = callerNpid, Request = request },
            });
        }

        using var registration = ct.Register(() =>
        {
            lock (gate)
            {
                procCalls.Remove(callId);
            }

            answer.TrySetCanceled(ct);
        });
        return await answer.Task;
    }

    internal void CompleteProcCall(ProcCallReply reply)
    {
        TaskCompletionSource<ProcResponse>? answer;
        lock (gate)
        {
            procCalls.Remove(reply.CallId, out answer);
        }

        answer?.TrySetResult(reply.Response ?? ErrorResponse(ErrorCodes.InternalError, "the silo sent an empty answer"));
    }

    // ---- shutdown --------------------------------------------------------------------

    /// <summary>
    /// Stops the node's processes as systemd stops a unit's control group: SIGTERM to every
    /// task of every process (the process and the children it forked, through the engine), and
    /// to what released processes left; SIGKILL to whatever is left after the grace period;
    /// then waits for the exits and has the engine free what it keeps for each.
    /// </summary>
    public async Task StopAllAsync(TimeSpan grace)
    {
        List<TrackedProcess> live;
        List<LocalProcessId> ids;
        lock (gate)
        {
            live = byPid.Values.ToList();
            ids = byId.Keys.ToList();
        }

        await SignalAllAsync(ids, Interop.LibC.SIGTERM);
        var exited = await WaitForExitsAsync(live, grace);

        // Children that outlived their process, or ignored SIGTERM, get SIGKILL at once.
        await SignalAllAsync(ids, Interop.LibC.SIGKILL);
        if (!exited)
        {
            await WaitForExitsAsync(live, TimeSpan.FromSeconds(3));
        }

        lock (gate)
        {
            ids = byId.Keys.ToList();
        }

        foreach (var id in ids)
        {
            await engine.ReleaseAsync(id);
        }
    }

    private async Task SignalAllAsync(List<LocalProcessId> ids, int signal)
    {
        foreach (var id in ids)
        {
            await engine.SignalAsync(id, signal, SignalTarget.All, CancellationToken.None);
        }

        await engine.SignalReleasedAsync(signal, CancellationToken.None);
    }

    private async Task<bool> WaitForExitsAsync(List<TrackedProcess> processes, TimeSpan within)
    {
        var deadline = Environment.TickCount64 + (long)within.TotalMilliseconds;
        while (true)
        {
            lock (gate)
            {
                // Done when each has either a recorded exit or is gone (failed start, acked).
                if (processes.All(p => p.Exit is not null || !byNpid.ContainsKey(p.Npid)))
                {
                    return true;
                }
            }

            if (Environment.TickCount64 >= deadline)
            {
                return false;
            }

            await Task.Delay(50);
        }
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

    // The silo checked the spec at admission (Nefele.Validation); hostd checks again what it
    // relies on, with the same rules, so a launch that bypassed admission changes nothing.
    private string? Validate(LaunchRequest request)
    {
        // Any id that is safe as a file and cgroup name is launched (the silo sends NPIDs).
        if (!LocalId().IsMatch(request.Npid))
        {
            return $"spawn rejected: npid '{Names.Shorten(request.Npid)}' must be 1-128 characters of [A-Za-z0-9._:@-] and not start with '.'";
        }

        if (!Names.IsTenantName(request.Tenant))
        {
            return $"spawn rejected: tenant '{Names.Shorten(request.Tenant)}' is not a tenant name";
        }

        if ((request.Uid == 0 || request.Gid == 0) && !request.Privileged)
        {
            return $"spawn rejected: uid {request.Uid} gid {request.Gid}: root (0) is only for a privileged tenant, and tenant {request.Tenant} is not one";
        }

        var spec = request.Spec;
        if (spec is null || !Names.IsProgram(spec.Path))
        {
            return $"spawn rejected: the path must be absolute (at most {Limits.MaxPathBytes} bytes) or a program name without '/' (at most {Limits.MaxFileNameBytes} bytes), without NUL";
        }

        if (spec.Args.Count > Limits.MaxArgs)
        {
            return $"spawn rejected: {spec.Args.Count} args given (at most {Limits.MaxArgs})";
        }

        if (spec.Args.Any(a => a.Contains('\0', StringComparison.Ordinal)) || spec.Env.Values.Any(v => v.Contains('\0', StringComparison.Ordinal)))
        {
            return "spawn rejected: arguments and environment values must not contain NUL";
        }

        var commandLine = Names.Utf8Bytes(spec.Path) + 1 + spec.Args.Sum(a => (long)Names.Utf8Bytes(a) + 1);
        if (commandLine > Limits.MaxCommandLineBytes)
        {
            return $"spawn rejected: path and args take {commandLine} bytes (at most {Limits.MaxCommandLineBytes})";
        }

        if (spec.Env.Count > Limits.MaxEnvVars)
        {
            return $"spawn rejected: {spec.Env.Count} env variables given (at most {Limits.MaxEnvVars})";
        }

        foreach (var name in spec.Env.Keys)
        {
            if (!Names.IsEnvName(name))
            {
                return $"spawn rejected: env name '{Names.Shorten(name)}' is not a valid variable name (a letter or '_', then letters, digits or '_')";
            }

            if (Names.IsReservedEnvName(name))
            {
                return $"spawn rejected: env {name} is reserved (NEFELE_* is set by hostd)";
            }
        }

        var env = spec.Env.Sum(e => (long)Names.Utf8Bytes(e.Key) + Names.Utf8Bytes(e.Value) + 2);
        if (env > Limits.MaxEnvBytes)
        {
            return $"spawn rejected: env takes {env} bytes (at most {Limits.MaxEnvBytes})";
        }

        if (spec.CpuMillis < 0 || spec.MemoryBytes < 0)
        {
            return "spawn rejected: cpu_millis and memory_bytes must not be negative";
        }

        return null;
    }

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

    [GeneratedRegex("^[A-Za-z0-9_:@-][A-Za-z0-9._:@-]{0,127}$")]
    private static partial Regex LocalId();

}
