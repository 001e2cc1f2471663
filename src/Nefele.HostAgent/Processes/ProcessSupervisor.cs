using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Nefele.HostAgent.Cgroups;
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
    private readonly Shared.TenantDirectories tenantDirectories;
    private readonly Images.ImageCache images;
    private readonly IProcessEngine engine;
    private readonly ICgroupManager cgroups;
    private readonly ILogger logger;
    private readonly ResourceLimits limits;
    private readonly Lock gate = new();
    private readonly Dictionary<string, TrackedProcess> byNpid = new(StringComparer.Ordinal);

    // Logs of acknowledged exits, oldest first, bounded by EndedLogsKept.
    private readonly Dictionary<string, ProcessLog> endedLogs = new(StringComparer.Ordinal);
    private readonly Queue<string> endedOrder = new();
    private readonly Dictionary<int, TrackedProcess> byPid = [];
    private readonly Dictionary<string, TrackedProcess> byToken = new(StringComparer.Ordinal);
    private readonly HashSet<string> usedTokens = new(StringComparer.Ordinal);
    private readonly Dictionary<ulong, TaskCompletionSource<ProcResponse>> procCalls = [];
    private readonly List<IProcessCgroup> lingeringCgroups = [];

    // Exits reaped before the launch that started them has recorded the pid (the reaper can
    // be faster than the spawn call's continuation); picked up when the pid is recorded.
    private readonly Dictionary<int, ProcessExit> earlyExits = [];
    private readonly CancellationTokenSource stop = new();
    private readonly Task exitLoop;
    private IControlConnection? attached;
    private ulong nextCallId;

    public ProcessSupervisor(HostAgentOptions options, IProcessEngine engine, ICgroupManager cgroups, PostOffice post, ILogger<ProcessSupervisor> logger,
        Shared.TenantDirectories tenantDirectories, Images.ImageCache images)
    {
        this.options = options;
        this.tenantDirectories = tenantDirectories;
        this.images = images;
        Post = post;
        this.engine = engine;
        this.cgroups = cgroups;
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
        var env = new Dictionary<string, string>(spec.Env, StringComparer.Ordinal);
        env.TryAdd("PATH", DefaultPath);
        StartedProcess started;
        try
        {
            // The tenant's shared directory, and the image's root (unpacked once per node), before the
            // spawn: a process from an image sees hostd's socket and the shim at fixed paths in it.
            var shared = tenantDirectories.Ensure(p.Tenant, p.Identity.Uid, p.Identity.Gid);
            var imageRoot = string.IsNullOrEmpty(spec.Image) ? null : await images.RootAsync(p.Tenant, spec.Image, stop.Token);
            var (socket, shim) = imageRoot is null
                ? (options.ApiSocketPath, options.ShimPath)
                : (Images.ImageCache.MountPoints[0].Path, Images.ImageCache.MountPoints[1].Path);
            env[Nefele.Shared.SharedDirectory.EnvironmentVariable] = imageRoot is null ? shared : Nefele.Shared.SharedDirectory.ContainerPath;
            env["NEFELE_SOCKET"] = socket;
            if (p.Token is not null)
            {
                env["NEFELE_TOKEN"] = p.Token;
                env["LD_PRELOAD"] = env.TryGetValue("LD_PRELOAD", out var preload) && preload.Length > 0
                    ? shim + ":" + preload
                    : shim;
            }

            var launch = new LaunchSpec(
                p.Npid, p.Tenant, spec.Path, [.. spec.Args], env,
                string.IsNullOrEmpty(spec.Cwd) ? "/" : spec.Cwd,
                new CgroupLimits(spec.CpuMillis, spec.MemoryBytes),
                p.Identity,
                imageRoot);
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
            p.Pid = started.Pid;
            p.StartedUnixMs = started.StartedUnixMs;
            p.Log = log;
            p.Cgroup = started.Cgroup;
            byPid[p.Pid] = p;
            if (p.Token is null)
            {
                MarkRunningLocked(p);
            }

            if (earlyExits.Remove(p.Pid, out var early))
            {
                byPid.Remove(p.Pid);
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
                await engine.SignalAsync(new LocalProcessId(p.Pid), Interop.LibC.SIGKILL, CancellationToken.None);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void MarkRunningLocked(TrackedProcess p)
    {
        if (p.Launch.Task.IsCompleted)
        {
            return;
        }

        p.Running = true;
        CompleteLaunchLocked(p, new LaunchReply { Started = new Started { Pid = p.Pid, StartedUnixMs = p.StartedUnixMs } });
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
                    if (!byPid.Remove(exit.Id.Pid, out p))
                    {
                        earlyExits[exit.Id.Pid] = exit;
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
            RemoveCgroup(p.Cgroup);
        }
    }

    /// <summary>
    /// Forgets an acknowledged exit: its record and cgroup. Its output stays readable among
    /// the last <see cref="HostAgentOptions.EndedLogsKept"/> ended processes.
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

        RemoveCgroup(p?.Cgroup);
    }

    private void RemoveCgroup(IProcessCgroup? cgroup)
    {
        lock (lingeringCgroups)
        {
            // Children a process left behind keep its cgroup busy; they run undisturbed and the cgroup goes when they do.
            lingeringCgroups.RemoveAll(c => c.TryRemove());
            if (cgroup is not null && !cgroup.TryRemove())
            {
                lingeringCgroups.Add(cgroup);
            }
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

        int pid;
        lock (gate)
        {
            pid = byNpid.TryGetValue(npid, out var p) && p.Exit is null ? p.Pid : 0;
        }

        return pid > 0 && await engine.SignalAsync(new LocalProcessId(pid), signal, ct)
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
            live = byNpid.Values.Where(p => p.Exit is null && p.Cgroup is not null).ToList();
        }

        var reply = new UsageReply();
        reply.Processes.AddRange(live.Select(p => new ProcessUsage
        {
            Npid = p.Npid,
            CpuUsageNs = p.Cgroup!.CpuUsageNanoseconds(),
            MemoryUsageBytes = p.Cgroup.MemoryUsageBytes(),
        }));
        return reply;
    }

    // ---- api calls from processes ----------------------------------------------------

    /// <summary>
    /// The live Nefele process a connection on the api socket speaks for: the process itself or
    /// one of its descendants, found by the cgroup the peer lives in (a process cannot leave it),
    /// never by the pids it claims or by walking parent pids, which can be reused. The answer
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

        npid ??= cgroups.Membership(pid)?.Npid;
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
    /// task in every process's cgroup (the process and the children it forked), SIGKILL to
    /// whatever is left after the grace period; then waits for the exits and removes the cgroups.
    /// </summary>
    public async Task StopAllAsync(TimeSpan grace)
    {
        List<TrackedProcess> live;
        List<IProcessCgroup> groups;
        lock (gate)
        {
            live = byPid.Values.ToList();
            groups = byNpid.Values.Select(p => p.Cgroup).OfType<IProcessCgroup>().ToList();
        }

        lock (lingeringCgroups)
        {
            groups.AddRange(lingeringCgroups);
        }

        await SignalAllAsync(live, groups, Interop.LibC.SIGTERM);
        if (!await WaitForExitsAsync(live, grace) || groups.Any(g => g.Pids().Count > 0))
        {
            await SignalAllAsync(live, groups, Interop.LibC.SIGKILL);
            await WaitForExitsAsync(live, TimeSpan.FromSeconds(3));
        }

        List<TrackedProcess> all;
        lock (gate)
        {
            all = byNpid.Values.ToList();
        }

        foreach (var p in all)
        {
            RemoveCgroup(p.Cgroup);
        }

        cgroups.RemoveNodeTree();
    }

    private async Task SignalAllAsync(List<TrackedProcess> live, List<IProcessCgroup> groups, int signal)
    {
        foreach (var p in live)
        {
            await engine.SignalAsync(new LocalProcessId(p.Pid), signal, CancellationToken.None);
        }

        // The processes' own children: they share their parent's cgroup, so they are found there.
        var mains = live.Select(p => p.Pid).ToHashSet();
        foreach (var pid in groups.SelectMany(g => g.Pids()).Where(pid => !mains.Contains(pid)))
        {
            Interop.LibC.kill(pid, signal);
        }
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
