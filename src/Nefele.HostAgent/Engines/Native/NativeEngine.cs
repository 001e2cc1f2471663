using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using System.Net.Sockets;
using Nefele.HostAgent.Cgroups;
using Nefele.HostAgent.Interop;
using Nefele.Protocol;

namespace Nefele.HostAgent.Engines.Native;

/// <summary>
/// Starts processes with fork/exec (in libnefele-spawn.so), stdout and stderr on one pipe,
/// each process in its own cgroup, which the engine creates, limits, signals and removes.
/// </summary>
/// <remarks>
/// <para>
/// The child is a vfork-style clone (it shares hostd's memory until exec: no page tables are
/// copied). On cgroup v2 it is created in its cgroup (clone3 with CLONE_INTO_CGROUP); on v1,
/// which has no such clone, it writes itself into each hierarchy's cgroup.procs before exec.
/// </para>
/// <para>
/// Exits: the spawn hands back a pidfd of each child, and one dedicated thread waits on all of
/// them in one epoll set. A pidfd becomes readable when its process exits, so the exit is
/// reaped with <c>waitpid(pid, WNOHANG)</c> of that pid alone, on the thread that saw it, and
/// handed on without a signal handler, a thread-pool hop or a scan over every child. Only pids
/// this engine started are ever waited for, so children that other code in the process (the
/// runtime's Process class) started are never stolen. Every half second, and on SIGCHLD where
/// the kernel gives no pidfds (before 5.3), every child is checked, as a safety net.
/// A pid is signalled only under the same lock the reaper holds while reaping, so a signal
/// can never hit a reused pid.
/// </para>
/// <para>
/// A process's cgroup lives from its start until it is released; children the process left
/// behind keep it busy, so a released cgroup lingers until they are gone (retried at every
/// release and at stop). Its id is "&lt;pid&gt;.&lt;n&gt;", the pid and a count of this engine's
/// starts, so a pid the kernel reuses while an earlier process's end is still unacknowledged
/// never names that earlier process.
/// </para>
/// </remarks>
public sealed class NativeEngine : IProcessEngine, IProcessOwnership
{
    private static readonly TimeSpan ReapPollInterval = TimeSpan.FromMilliseconds(500);

    // The eventfd's tag in the epoll set; a pidfd's tag is its pid.
    private const ulong WakeTag = ulong.MaxValue;
    private const int MaxEvents = 64;
    private readonly SpawnLibrary library;
    private readonly ICgroupManager cgroups;

    // Where the api socket, the shim and the shared directory are on the host, for a process in an image root.
    private readonly HostAgentOptions? options;
    private readonly ILogger logger;
    private readonly Dictionary<int, Child> children = [];

    // From start until release, by pid and by npid (guarded by childrenGate, as children are).
    private readonly Dictionary<LocalProcessId, Owned> owned = [];
    private readonly Dictionary<string, LocalProcessId> idByNpid = new(StringComparer.Ordinal);
    private long starts;
    private readonly Lock childrenGate = new();

    // Released cgroups their process's own children still keep busy.
    private readonly List<IProcessCgroup> lingering = [];

    // The reaper thread hands each exit straight to the reader (the supervisor), with no hop.
    private readonly Channel<ProcessExit> exits = Channel.CreateUnbounded<ProcessExit>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true, AllowSynchronousContinuations = true });
    private readonly int epoll;
    private readonly int wake;
    private readonly PosixSignalRegistration? sigchld;
    private readonly Thread reaper;
    private volatile bool stopping;
    private bool closed;

    public NativeEngine(string spawnLibraryPath, ICgroupManager cgroups, ILogger<NativeEngine> logger, HostAgentOptions? options = null)
    {
        library = new SpawnLibrary(spawnLibraryPath);
        this.options = options;
        this.cgroups = cgroups;
        this.logger = logger;
        Capabilities = new EngineCapabilities("native", Recover: false, ResourceLimits: cgroups.Flavor != CgroupFlavor.None, Terminal: true);
        epoll = Epoll.Create(Epoll.EPOLL_CLOEXEC);
        wake = Epoll.EventFd(0, Epoll.EFD_CLOEXEC | Epoll.EFD_NONBLOCK);
        if (epoll < 0 || wake < 0 || Epoll.Add(epoll, wake, WakeTag) != 0)
        {
            throw new IOException($"epoll/eventfd for the reaper: {LibC.StrError(Marshal.GetLastPInvokeError())}");
        }

        // Without pidfds an exit is known only by SIGCHLD (or the periodic check).
        var probe = PidFd.Open(Environment.ProcessId);
        if (probe >= 0)
        {
            PidFd.Close(probe);
        }
        else
        {
            sigchld = PosixSignalRegistration.Create(PosixSignal.SIGCHLD, _ => Epoll.Signal(wake));
        }

        reaper = new Thread(ReapLoop) { IsBackground = true, Name = "nefele reaper" };
        reaper.Start();
    }

    public EngineCapabilities Capabilities { get; }

    /// <summary>
    /// Starts the process on the calling thread, which the clone holds until the child has
    /// exec'd (its cgroup joins, identity and exec: milliseconds on a busy node). The supervisor
    /// calls it on the thread that read a lone launch request, and from the thread pool when
    /// other requests wait behind it.
    /// </summary>
    public Task<StartedProcess> StartAsync(LaunchSpec spec, CancellationToken ct)
    {
        if (ct.IsCancellationRequested)
        {
            return Task.FromCanceled<StartedProcess>(ct);
        }

        try
        {
            return Task.FromResult(Start(spec));
        }
        catch (Exception e)
        {
            return Task.FromException<StartedProcess>(e);
        }
    }

    public Task<bool> SignalAsync(LocalProcessId id, int signal, SignalTarget target, CancellationToken ct)
    {
        int pid;
        bool signalled;
        IProcessCgroup? cgroup;
        lock (childrenGate)
        {
            if (!owned.TryGetValue(id, out var o))
            {
                return Task.FromResult(false);
            }

            pid = o.Pid;
            signalled = children.TryGetValue(pid, out var child) && child.Id == id && LibC.kill(pid, signal) == 0;
            cgroup = target == SignalTarget.All ? o.Cgroup : null;
        }

        // The process's own children: they share its cgroup, so they are found there.
        if (cgroup is not null)
        {
            foreach (var member in cgroup.Pids())
            {
                if (member != pid && LibC.kill(member, signal) == 0)
                {
                    signalled = true;
                }
            }
        }

        return Task.FromResult(signalled);
    }

    public ValueTask ReleaseAsync(LocalProcessId id)
    {
        IProcessCgroup? cgroup = null;
        lock (childrenGate)
        {
            if (owned.Remove(id, out var o))
            {
                cgroup = o.Cgroup;
                if (idByNpid.TryGetValue(o.Npid, out var current) && current == id)
                {
                    idByNpid.Remove(o.Npid);
                }
            }
        }

        RemoveCgroup(cgroup);
        return ValueTask.CompletedTask;
    }

    public ProcessUsageSample? Usage(LocalProcessId id)
    {
        IProcessCgroup? cgroup;
        lock (childrenGate)
        {
            cgroup = owned.TryGetValue(id, out var o) ? o.Cgroup : null;
        }

        return cgroup is null ? null : new ProcessUsageSample(cgroup.CpuUsageNanoseconds(), cgroup.MemoryUsageBytes());
    }

    /// <summary>The process itself, else the one whose cgroup the pid lives in (read from /proc/&lt;pid&gt;/cgroup).</summary>
    public LocalProcessId? OwnerOf(int hostPid)
    {
        lock (childrenGate)
        {
            if (children.TryGetValue(hostPid, out var child))
            {
                return child.Id;
            }
        }

        if (cgroups.Membership(hostPid) is not { } member)
        {
            return null;
        }

        lock (childrenGate)
        {
            return idByNpid.TryGetValue(member.Npid, out var id) ? id : null;
        }
    }

    public Task<int> SignalReleasedAsync(int signal, CancellationToken ct)
    {
        IReadOnlyList<int> pids;
        lock (lingering)
        {
            lingering.RemoveAll(c => c.TryRemove());
            pids = lingering.SelectMany(c => c.Pids()).ToArray();
        }

        return Task.FromResult(pids.Count(pid => LibC.kill(pid, signal) == 0));
    }

    public async IAsyncEnumerable<ProcessExit> ExitsAsync([EnumeratorCancellation] CancellationToken ct)
    {
        await foreach (var exit in exits.Reader.ReadAllAsync(ct))
        {
            yield return exit;
        }
    }

    /// <summary>
    /// Processes of an earlier hostd are not this process's children: it cannot reap them, read
    /// their exit status or own their output. So none are adopted; they are stopped (the control
    /// plane marks them Lost when the silo reattaches) and the node subtree starts clean.
    /// </summary>
    public Task<IReadOnlyList<RecoveredProcess>> RecoverAsync(CancellationToken ct)
    {
        var left = Leftovers.Stop(cgroups);
        if (left > 0)
        {
            logger.LogWarning("Stopped {Count} processes a previous hostd of this node left running", left);
        }

        return Task.FromResult<IReadOnlyList<RecoveredProcess>>([]);
    }

    public ValueTask DisposeAsync()
    {
        // Once only, and the descriptors are closed under the lock a late spawn records its child
        // under: a second dispose or a spawn still in flight must never touch a descriptor number
        // that the runtime may already have reused.
        lock (childrenGate)
        {
            if (stopping)
            {
                return ValueTask.CompletedTask;
            }

            stopping = true;
            Epoll.Signal(wake);
        }

        sigchld?.Dispose();
        if (reaper.Join(TimeSpan.FromSeconds(2)))
        {
            lock (childrenGate)
            {
                foreach (var child in children.Values)
                {
                    PidFd.Close(child.PidFd);
                }

                children.Clear();
                LibC.close(epoll);
                LibC.close(wake);
                closed = true;
            }
        }

        exits.Writer.TryComplete();

        // Released or not, what still has tasks stays: the node tree goes where it is empty.
        lock (childrenGate)
        {
            foreach (var o in owned.Values)
            {
                o.Cgroup.TryRemove();
            }
        }

        RemoveCgroup(null);
        cgroups.RemoveNodeTree();
        return ValueTask.CompletedTask;
    }

    private void RemoveCgroup(IProcessCgroup? cgroup)
    {
        lock (lingering)
        {
            // Children a process left behind keep its cgroup busy; they run undisturbed and the cgroup goes when they do.
            lingering.RemoveAll(c => c.TryRemove());
            if (cgroup is not null && !cgroup.TryRemove())
            {
                lingering.Add(cgroup);
            }
        }
    }


    private unsafe StartedProcess Start(LaunchSpec spec)
    {
        SpawnTrace.Mark("h.start_pool", spec.Npid);
        if (!spec.Path.Contains('/', StringComparison.Ordinal) && spec.Namespaces is null)
        {
            spec = spec with { Path = ProgramSearch.Resolve(spec.Path, spec.Environment, spec.ImageRoot) };
        }

        var root = spec.ImageRoot is { } imageRoot ? RootOf(spec, imageRoot) : null;
        IProcessCgroup cgroup;
        try
        {
            cgroup = cgroups.Create(spec.Tenant, spec.Npid, spec.Limits);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            CheckExecutable(spec);
            throw new SpawnRejectedException($"spawn rejected: could not set up the cgroup of {spec.Npid}: {e.Message}", e);
        }

        // Output goes through a unix stream socket pair rather than a pipe (as journald's stdout
        // streams do): hostd reads it with epoll-driven async receives instead of a blocked
        // thread per process. Both ends close-on-exec, so a concurrent spawn cannot inherit
        // another process's end (its reader would never see end of file); the child's dup2
        // onto 1 and 2 clears the flag. stdout and stderr get a pair each, so their records stay apart.
        // With --tty the slave of a new pseudo-terminal is all three (and the controlling
        // terminal: the spawn library makes a terminal stdin so); hostd keeps the master.
        var fds = stackalloc int[2];
        var errs = stackalloc int[2];
        PseudoTerminal? terminal = null;
        if (spec.Tty)
        {
            try
            {
                terminal = PseudoTerminal.Open(PseudoTerminal.DefaultRows, PseudoTerminal.DefaultColumns, spec.Identity.Uid, spec.Identity.Gid, out fds[1]);
                fds[0] = -1;
            }
            catch (IOException e)
            {
                cgroup.TryRemove();
                throw new SpawnRejectedException($"spawn rejected: {e.Message}", e);
            }
        }
        else if (LibC.socketpair(LibC.AF_UNIX, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0, fds) != 0)
        {
            cgroup.TryRemove();
            throw new IOException($"socketpair failed: {LibC.StrError(Marshal.GetLastPInvokeError())}");
        }

        if (terminal is not null)
        {
            errs[0] = errs[1] = -1;
        }
        else if (LibC.socketpair(LibC.AF_UNIX, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0, errs) != 0)
        {
            var error = Marshal.GetLastPInvokeError();
            LibC.close(fds[0]);
            LibC.close(fds[1]);
            cgroup.TryRemove();
            throw new IOException($"socketpair failed: {LibC.StrError(error)}");
        }

        // cgroup v2: the child is created in its cgroup; v1: it writes itself into each hierarchy's cgroup.procs.
        var procsFiles = cgroup.ProcsFiles;
        var cgroupFd = cgroup.UnifiedDirectory is { } unified ? LibC.open(unified, LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_CLOEXEC) : -1;
        if (cgroupFd >= 0)
        {
            procsFiles = [];
        }

        // Spawned outside the lock: the clone holds this thread until the child has exec'd (its
        // cgroup joins, identity and exec take milliseconds on a busy node), and under the lock
        // every concurrent launch queued behind it, so a request's tasks started one at a time.
        // Nothing waits for a pid before it is recorded below, so an early exit stays a zombie
        // until then (its pidfd is already readable when added, or the wake checks every child).
        // stdin is /dev/null (the spawn library opens it in the child for a negative descriptor), or the terminal.
        SpawnTrace.Mark("h.clone", spec.Npid);
        var pid = library.Spawn(spec.Path, spec.Arguments, spec.Environment, spec.WorkingDirectory, procsFiles, cgroupFd, terminal is null ? -1 : fds[1], fds[1], terminal is null ? errs[1] : fds[1], spec.Identity, root, out var pidfd, out var stage, out var errno, spec.Namespaces);
        SpawnTrace.Mark("h.clone_ret", spec.Npid);
        var watched = false;
        var id = default(LocalProcessId);
        lock (childrenGate)
        {
            if (pid > 0 && closed)
            {
                // The engine was disposed while this spawn ran: nothing will reap the child.
                LibC.kill(pid, LibC.SIGKILL);
                PidFd.Close(pidfd);
                pidfd = -1;
            }
            else if (pid > 0)
            {
                watched = true;
                id = new LocalProcessId(string.Create(CultureInfo.InvariantCulture, $"{pid}.{++starts}"));
                children[pid] = new Child(id, cgroup, pidfd);
                owned[id] = new Owned(pid, spec.Npid, cgroup);
                idByNpid[spec.Npid] = id;
                if (pidfd >= 0 && Epoll.Add(epoll, pidfd, (ulong)pid) != 0)
                {
                    // Not watched: the periodic check still finds the exit.
                    logger.LogWarning("Could not watch the pidfd of pid {Pid}: {Error}", pid, LibC.StrError(Marshal.GetLastPInvokeError()));
                }
            }
        }

        var startedMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        LibC.close(fds[1]);
        if (errs[1] >= 0)
        {
            LibC.close(errs[1]);
        }

        if (cgroupFd >= 0)
        {
            LibC.close(cgroupFd);
        }
        if (pid <= 0)
        {
            if (terminal is null)
            {
                LibC.close(fds[0]);
                LibC.close(errs[0]);
            }

            terminal?.Dispose();
            cgroup.TryRemove();

            // exec's preconditions are checked only when it failed, to name the cause (on the
            // host: a container's paths are only known inside it).
            if (spec.Namespaces is null)
            {
                CheckExecutable(spec);
            }

            throw new SpawnRejectedException(DescribeSpawnFailure(spec, stage, errno));
        }

        if (pidfd < 0 && watched)
        {
            // A child that exited before it was recorded is a zombie now: the check finds it.
            lock (childrenGate)
            {
                if (!closed)
                {
                    Epoll.Signal(wake);
                }
            }
        }

        logger.LogDebug("Spawned {Npid} as pid {Pid}", spec.Npid, pid);
        if (terminal is not null)
        {
            terminal.StartReading(spec.Npid);
            return new StartedProcess(id, pid, startedMs, terminal.Output, Terminal: terminal);
        }

        // hostd only reads: closing its write direction lets nothing flow the wrong way.
        LibC.shutdown(fds[0], LibC.SHUT_WR);
        LibC.shutdown(errs[0], LibC.SHUT_WR);
        var output = new NetworkStream(new Socket(new SafeSocketHandle(fds[0], ownsHandle: true)), ownsSocket: true);
        var errors = new NetworkStream(new Socket(new SafeSocketHandle(errs[0], ownsHandle: true)), ownsSocket: true);
        return new StartedProcess(id, pid, startedMs, output, errors);
    }

    /// <summary>
    /// A process from an image without a container (the fallback; tenant containers are the norm):
    /// chrooted into the image's root, read-only, with hostd's api socket and the shim bound at the
    /// fixed paths NEFELE_SOCKET and LD_PRELOAD name inside it, the node's null, zero, full and
    /// random devices, the tenant's shared directory at /shared, and a /tmp of its own. No /proc.
    /// </summary>
    private SpawnRoot RootOf(LaunchSpec spec, string imageRoot)
    {
        var binds = new List<(string Source, string Target)>();
        if (options is not null)
        {
            binds.Add((options.ApiSocketPath, imageRoot + Images.ImageCache.MountPoints[0].Path));
            if (File.Exists(options.ShimPath))
            {
                binds.Add((options.ShimPath, imageRoot + Images.ImageCache.MountPoints[1].Path));
            }

            foreach (var device in Images.ImageCache.DeviceNodes)
            {
                binds.Add((device, imageRoot + device));
            }

            var shared = Nefele.Shared.SharedDirectory.Tenant(options.SharedDirectory, spec.Tenant);
            if (Directory.Exists(shared))
            {
                binds.Add((shared, imageRoot + Nefele.Shared.SharedDirectory.ContainerPath));
            }
        }

        return new SpawnRoot(imageRoot, binds, imageRoot + "/tmp");
    }

    /// <summary>The checks exec would fail, made once a spawn failed so the message can name the cause (none on the happy path).</summary>
    private static void CheckExecutable(LaunchSpec spec)
    {
        if (spec.ImageRoot is { } root)
        {
            // Inside the image the path is the image's; its links may be absolute, so only existence is checked.
            var inRoot = root + spec.Path;
            if (!File.Exists(inRoot) && new FileInfo(inRoot).LinkTarget is null)
            {
                throw new SpawnRejectedException(Nefele.Client.ErrorCodes.ProgramNotFound, $"spawn rejected: {spec.Path}: no such file in the image");
            }

            return;
        }

        if (!Path.IsPathFullyQualified(spec.Path))
        {
            throw new SpawnRejectedException($"spawn rejected: {spec.Path}: the path must be absolute");
        }

        if (Directory.Exists(spec.Path))
        {
            throw new SpawnRejectedException($"spawn rejected: {spec.Path}: is a directory");
        }

        if (!File.Exists(spec.Path))
        {
            throw new SpawnRejectedException(Nefele.Client.ErrorCodes.ProgramNotFound, $"spawn rejected: {spec.Path}: no such file");
        }

        if (LibC.access(spec.Path, LibC.X_OK) != 0)
        {
            throw new SpawnRejectedException($"spawn rejected: {spec.Path}: permission denied: not executable");
        }

        if (!Directory.Exists(spec.WorkingDirectory))
        {
            throw new SpawnRejectedException($"spawn rejected: cwd {spec.WorkingDirectory} does not exist");
        }
    }

    private static string DescribeSpawnFailure(LaunchSpec spec, int stage, int errno)
    {
        const int ENOENT = 2, EACCES = 13, ENOEXEC = 8, EAGAIN = 11;
        var reason = (stage, errno) switch
        {
            (1, _) => $"fork failed: {LibC.StrError(errno)}",
            (2, _) => $"joining its cgroup failed: {LibC.StrError(errno)}",
            (3, ENOENT) => $"cwd {spec.WorkingDirectory} does not exist",
            (3, EACCES) => $"cwd {spec.WorkingDirectory}: permission denied for uid {spec.Identity.Uid}",
            (3, _) => $"cwd {spec.WorkingDirectory}: {LibC.StrError(errno)}",
            (4, EACCES) when !spec.Identity.IsRoot => $"{spec.Path}: permission denied for uid {spec.Identity.Uid} (not executable, or a directory on its path is closed to it)",
            (4, EAGAIN) => $"{spec.Path}: the tenant's uid {spec.Identity.Uid} has reached its process limit (RLIMIT_NPROC) on this node",
            (4, ENOENT) when spec.ImageRoot is not null => $"{spec.Path}: no such file in the image (or its interpreter is missing there)",
            (4, ENOENT) => $"{spec.Path}: no such file (or its interpreter is missing)",
            (4, EACCES) => $"{spec.Path}: permission denied: not executable",
            (4, ENOEXEC) => $"{spec.Path}: exec format error: not a program this machine can run",
            (4, _) => $"{spec.Path}: exec failed: {LibC.StrError(errno)}",
            (5, _) => $"setting up the child's session or stdio failed: {LibC.StrError(errno)}",
            (6, _) => $"setting its resource limits failed: {LibC.StrError(errno)}",
            (7, _) => $"running as uid {spec.Identity.Uid} gid {spec.Identity.Gid} failed: {LibC.StrError(errno)}",
            (8, _) => $"entering the image's root {spec.ImageRoot} failed: {LibC.StrError(errno)} (it needs root, with mount namespaces)",
            (9, _) => $"entering container {spec.Container}'s namespaces failed: {LibC.StrError(errno)}",
            _ => $"{spec.Path}: spawn failed at stage {stage}: {LibC.StrError(errno)}",
        };
        return "spawn rejected: " + reason + (spec.Container is null ? "" : $" (in container {spec.Container})");
    }

    private unsafe void ReapLoop()
    {
        var events = (byte*)NativeMemory.Alloc((nuint)(Epoll.EventSize * MaxEvents));
        var finished = new List<(int Pid, ProcessExit Exit)>();
        var checkedPids = new HashSet<int>();
        try
        {
            while (!stopping)
            {
                var ready = Epoll.Wait(epoll, events, MaxEvents, (int)ReapPollInterval.TotalMilliseconds);

                // A timeout (or EINTR) is the periodic check; a wake is a spawn without a pidfd, SIGCHLD or stop.
                var checkAll = ready <= 0;
                lock (childrenGate)
                {
                    for (var i = 0; i < ready; i++)
                    {
                        var tag = Epoll.DataAt(events, i);
                        if (tag == WakeTag)
                        {
                            Epoll.Drain(wake);
                            checkAll = true;
                        }
                        else if (children.TryGetValue((int)tag, out var child) && checkedPids.Add((int)tag))
                        {
                            TryReap((int)tag, child, finished);
                        }
                    }

                    if (checkAll)
                    {
                        foreach (var (pid, child) in children)
                        {
                            if (checkedPids.Add(pid))
                            {
                                TryReap(pid, child, finished);
                            }
                        }
                    }

                    foreach (var exit in finished)
                    {
                        // Closing the pidfd also takes it out of the epoll set.
                        if (children.Remove(exit.Pid, out var child))
                        {
                            PidFd.Close(child.PidFd);
                        }
                    }
                }

                foreach (var (_, exit) in finished)
                {
                    exits.Writer.TryWrite(exit);
                }

                finished.Clear();
                checkedPids.Clear();
            }
        }
        finally
        {
            NativeMemory.Free(events);
        }
    }

    private void TryReap(int pid, Child child, List<(int Pid, ProcessExit Exit)> finished)
    {
        var r = LibC.waitpid(pid, out var status, LibC.WNOHANG);
        if (r == pid)
        {
            SpawnTrace.Mark("h.reaped", $"pid{pid}");
            finished.Add((pid, ToExit(child, status)));
        }
        else if (r < 0 && Marshal.GetLastPInvokeError() == LibC.ECHILD)
        {
            // Someone else reaped it (hostd started with SIGCHLD ignored): the status is lost.
            logger.LogWarning("Exit status of pid {Pid} was lost (reaped elsewhere)", pid);
            finished.Add((pid, new ProcessExit(child.Id, -1, 0, false, child.Cgroup.OomKilled(), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())));
        }
    }

    private static ProcessExit ToExit(Child child, int status)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        if (!LibC.WIfSignaled(status))
        {
            return new ProcessExit(child.Id, LibC.WExitStatus(status), 0, false, false, now);
        }

        // The OOM killer's signal is SIGKILL: only then is the cgroup's count worth reading.
        var signal = LibC.WTermSig(status);
        var oom = signal == LibC.SIGKILL && child.Cgroup.OomKilled();
        return new ProcessExit(child.Id, -1, signal, LibC.WCoreDump(status), oom, now);
    }

    /// <summary>A live child: its cgroup, and its pidfd (-1 where the kernel gives none).</summary>
    private sealed record Child(LocalProcessId Id, IProcessCgroup Cgroup, int PidFd);

    /// <summary>A process from its start until it is released: its NPID and cgroup.</summary>
    private sealed record Owned(int Pid, string Npid, IProcessCgroup Cgroup);
}
