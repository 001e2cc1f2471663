using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using System.Net.Sockets;
using Nefele.HostAgent.Cgroups;
using Nefele.HostAgent.Interop;

namespace Nefele.HostAgent.Engines.Native;

/// <summary>
/// Starts processes with fork/exec (in libnefele-spawn.so), stdout and stderr on one pipe,
/// each process in its own cgroup.
/// </summary>
/// <remarks>
/// Reaping: one dedicated thread calls <c>waitpid(pid, WNOHANG)</c> for each pid this engine
/// started, and only those, so children that other code in the process (the runtime's
/// Process class) started are never stolen. It runs when SIGCHLD arrives, after every spawn
/// (a child may exit before its pid is recorded; as a zombie it is found then), and every
/// half second as a safety net against a coalesced or missed signal.
/// A pid is signalled only under the same lock the reaper holds while reaping, so a signal
/// can never hit a reused pid.
/// </remarks>
public sealed class NativeEngine : IProcessEngine
{
    private static readonly TimeSpan ReapPollInterval = TimeSpan.FromMilliseconds(500);
    private readonly SpawnLibrary library;
    private readonly ICgroupManager cgroups;
    private readonly ILogger logger;
    private readonly Dictionary<int, IProcessCgroup> children = [];
    private readonly Lock childrenGate = new();
    private readonly Channel<ProcessExit> exits = Channel.CreateUnbounded<ProcessExit>(new UnboundedChannelOptions { SingleReader = true });
    private readonly AutoResetEvent reapNow = new(false);
    private readonly PosixSignalRegistration sigchld;
    private readonly Thread reaper;
    private volatile bool stopping;

    public NativeEngine(string spawnLibraryPath, ICgroupManager cgroups, ILogger<NativeEngine> logger)
    {
        library = new SpawnLibrary(spawnLibraryPath);
        this.cgroups = cgroups;
        this.logger = logger;
        Capabilities = new EngineCapabilities("native", Recover: false, ResourceLimits: cgroups.Flavor != CgroupFlavor.None);
        sigchld = PosixSignalRegistration.Create(PosixSignal.SIGCHLD, _ => reapNow.Set());
        reaper = new Thread(ReapLoop) { IsBackground = true, Name = "nefele reaper" };
        reaper.Start();
    }

    public EngineCapabilities Capabilities { get; }

    public Task<StartedProcess> StartAsync(LaunchSpec spec, CancellationToken ct) =>
        // fork of a large process and the cgroup writes take milliseconds: keep them off the caller's loop.
        Task.Run(() => Start(spec), ct);

    public Task<bool> SignalAsync(LocalProcessId id, int signal, CancellationToken ct)
    {
        lock (childrenGate)
        {
            return Task.FromResult(children.ContainsKey(id.Pid) && LibC.kill(id.Pid, signal) == 0);
        }
    }

    public async IAsyncEnumerable<ProcessExit> ExitsAsync([EnumeratorCancellation] CancellationToken ct)
    {
        await foreach (var exit in exits.Reader.ReadAllAsync(ct))
        {
            yield return exit;
        }
    }

    /// <summary>Processes of an earlier hostd are not this process's children and cannot be reaped: none are adopted.</summary>
    public Task<IReadOnlyList<StartedProcess>> RecoverAsync(CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<StartedProcess>>([]);

    public ValueTask DisposeAsync()
    {
        stopping = true;
        reapNow.Set();
        sigchld.Dispose();
        reaper.Join(TimeSpan.FromSeconds(2));
        exits.Writer.TryComplete();
        return ValueTask.CompletedTask;
    }

    private unsafe StartedProcess Start(LaunchSpec spec)
    {
        CheckExecutable(spec);
        IProcessCgroup cgroup;
        try
        {
            cgroup = cgroups.Create(spec.Tenant, spec.Npid, spec.Limits);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SpawnRejectedException($"spawn rejected: could not set up the cgroup of {spec.Npid}: {e.Message}", e);
        }

        // Output goes through a unix stream socket pair rather than a pipe (as journald's stdout
        // streams do): hostd reads it with epoll-driven async receives instead of a blocked
        // thread per process. Both ends close-on-exec, so a concurrent spawn cannot inherit
        // another process's end (its reader would never see end of file); the child's dup2
        // onto 1 and 2 clears the flag.
        var fds = stackalloc int[2];
        if (LibC.socketpair(LibC.AF_UNIX, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0, fds) != 0)
        {
            cgroup.TryRemove();
            throw new IOException($"socketpair failed: {LibC.StrError(Marshal.GetLastPInvokeError())}");
        }

        var devNull = LibC.open("/dev/null", LibC.O_RDONLY | LibC.O_CLOEXEC);
        var argv = new List<string>(spec.Arguments.Count + 1) { spec.Path };
        argv.AddRange(spec.Arguments);
        var envp = spec.Environment.Select(kv => kv.Key + "=" + kv.Value).ToList();
        int pid, stage, errno;
        lock (childrenGate)
        {
            pid = library.Spawn(spec.Path, argv, envp, spec.WorkingDirectory, cgroup.ProcsFiles, devNull, fds[1], fds[1], spec.Identity, out stage, out errno);
            if (pid > 0)
            {
                children[pid] = cgroup;
            }
        }

        var startedMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        LibC.close(fds[1]);
        LibC.close(devNull);
        if (pid <= 0)
        {
            LibC.close(fds[0]);
            cgroup.TryRemove();
            throw new SpawnRejectedException(DescribeSpawnFailure(spec, stage, errno));
        }

        reapNow.Set();
        logger.LogDebug("Spawned {Npid} as pid {Pid}", spec.Npid, pid);
        // hostd only reads: closing its write direction lets nothing flow the wrong way.
        LibC.shutdown(fds[0], LibC.SHUT_WR);
        var socket = new Socket(new SafeSocketHandle(fds[0], ownsHandle: true));
        var output = new NetworkStream(socket, ownsSocket: true);
        return new StartedProcess(new LocalProcessId(pid), pid, startedMs, output, cgroup);
    }

    /// <summary>The checks exec would fail, made up front so the message can name the cause.</summary>
    private static void CheckExecutable(LaunchSpec spec)
    {
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
            throw new SpawnRejectedException($"spawn rejected: {spec.Path}: no such file");
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
            (4, ENOENT) => $"{spec.Path}: no such file (or its interpreter is missing)",
            (4, EACCES) => $"{spec.Path}: permission denied: not executable",
            (4, ENOEXEC) => $"{spec.Path}: exec format error: not a program this machine can run",
            (4, _) => $"{spec.Path}: exec failed: {LibC.StrError(errno)}",
            (5, _) => $"setting up the child's session or stdio failed: {LibC.StrError(errno)}",
            (6, _) => $"setting its resource limits failed: {LibC.StrError(errno)}",
            (7, _) => $"running as uid {spec.Identity.Uid} gid {spec.Identity.Gid} failed: {LibC.StrError(errno)}",
            _ => $"{spec.Path}: spawn failed at stage {stage}: {LibC.StrError(errno)}",
        };
        return "spawn rejected: " + reason;
    }

    private void ReapLoop()
    {
        var finished = new List<ProcessExit>();
        while (!stopping)
        {
            reapNow.WaitOne(ReapPollInterval);
            lock (childrenGate)
            {
                foreach (var (pid, cgroup) in children)
                {
                    var r = LibC.waitpid(pid, out var status, LibC.WNOHANG);
                    if (r == pid)
                    {
                        finished.Add(ToExit(pid, status, cgroup));
                    }
                    else if (r < 0 && Marshal.GetLastPInvokeError() == LibC.ECHILD)
                    {
                        // Someone else reaped it (hostd started with SIGCHLD ignored): the status is lost.
                        logger.LogWarning("Exit status of pid {Pid} was lost (reaped elsewhere)", pid);
                        finished.Add(new ProcessExit(new LocalProcessId(pid), -1, 0, false, cgroup.OomKilled(), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
                    }
                }

                foreach (var exit in finished)
                {
                    children.Remove(exit.Id.Pid);
                }
            }

            foreach (var exit in finished)
            {
                exits.Writer.TryWrite(exit);
            }

            finished.Clear();
        }
    }

    private static ProcessExit ToExit(int pid, int status, IProcessCgroup cgroup)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var oom = cgroup.OomKilled();
        return LibC.WIfSignaled(status)
            ? new ProcessExit(new LocalProcessId(pid), -1, LibC.WTermSig(status), LibC.WCoreDump(status), oom, now)
            : new ProcessExit(new LocalProcessId(pid), LibC.WExitStatus(status), 0, false, oom, now);
    }
}
