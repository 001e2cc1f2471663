using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Nefele.HostAgent.Engines;
using Nefele.HostAgent.Interop;

namespace Nefele.HostAgent.Containers;

/// <summary>
/// The tenants' containers on this node: one per tenant and image, started with systemd-nspawn
/// when the first process that needs it is launched, stopped when its last one has ended and
/// the linger has passed.
/// </summary>
/// <remarks>
/// <para>
/// Root: the image, never written: production mode lays it read-only
/// (<c>--overlay-ro=image:scaffold:/</c>), development mode as the lower layer of an overlay
/// whose upper dir is kept per tenant and image (<c>--overlay=image:scaffold:upper:/</c>). The
/// scaffold is a small tree of mount points (for the shim, the api socket, /shared and the
/// directories nspawn needs) laid over every image, so a bind never has to create a file in a
/// read-only root or in the image cache.
/// </para>
/// <para>
/// Bound in: hostd's api socket at <see cref="ProcessPaths.ContainerApiSocket"/>, the shim at
/// <see cref="ProcessPaths.ContainerShim"/>, the tenant's shared directory at /shared, and
/// nefele-pause, pid 1 of images without systemd. An image with systemd boots (<c>-b</c>) and
/// its systemd is pid 1. Each container has its own network namespace: the tenant's network
/// namespace when one is provided, else a private one with only loopback.
/// </para>
/// <para>
/// nspawn runs without a host systemd (<c>--register=no --keep-unit</c>): it is started in a
/// cgroup of its own (<c>&lt;cgroup-root&gt;/&lt;node&gt;/containers/&lt;name&gt;</c>, where it makes
/// payload/ and supervisor/), which is the container's limit and is removed when it stops.
/// The container is up when its pid 1 is the expected program (and a booted one's bus socket
/// exists), checked every 2 ms up to <see cref="ContainerOptions.StartTimeout"/>: nspawn
/// reports readiness only over sd_notify, whose socket its private mount namespace hides.
/// </para>
/// </remarks>
public sealed class ContainerManager : IAsyncDisposable
{
    private const string PauseInside = "/usr/lib/nefele/nefele-pause";
    // systemd's "power off" signal, SIGRTMIN+3 (glibc's SIGRTMIN is 34).
    private const int SigRtMinPlus3 = 37;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(2);
    private static readonly string[] V1Hierarchies = ["memory", "cpu", "cpuacct", "pids", "systemd", "unified"];

    // The scaffold's mount points: directories, then empty files a bind lands on.
    private static readonly string[] ScaffoldDirectories = ["usr/lib/nefele", "run/nefele", "shared", "tmp", "etc", "var", "dev", "proc", "sys", "root"];
    private static readonly string[] ScaffoldFiles = ["usr/lib/nefele/nefele-pause", "usr/lib/nefele/libnefele-shim.so", "run/nefele/api.sock"];

    // Units a booted image's systemd skips in a tenant container (masked in the scaffold, so
    // the image is untouched): the node's kernel, devices, clock and logins are not the
    // container's, nobody logs in on its console, and output goes to hostd rather than a
    // journal. They took most of the boot (about 2.0 s to the bus here under load, 1.4 s without).
    private static readonly string[] MaskedUnits =
    [
        "systemd-sysctl.service", "systemd-remount-fs.service", "dev-hugepages.mount", "sys-kernel-config.mount",
        "sys-kernel-debug.mount", "sys-kernel-tracing.mount", "systemd-tmpfiles-setup-dev.service", "modprobe@.service",
        "systemd-hwdb-update.service", "systemd-random-seed.service", "systemd-machine-id-commit.service", "systemd-firstboot.service",
        "systemd-journald.service", "systemd-journald.socket", "systemd-journald-dev-log.socket", "systemd-journald-audit.socket",
        "systemd-journal-flush.service", "systemd-logind.service", "systemd-user-sessions.service", "console-getty.service",
        "getty@.service", "systemd-update-utmp.service", "systemd-update-utmp-runlevel.service", "systemd-tmpfiles-clean.timer",
        "apt-daily.timer", "apt-daily-upgrade.timer", "e2scrub_all.timer", "fstrim.timer", "man-db.timer",
    ];

    // Generators systemd runs before it starts any unit (masked the same way): none has work in a
    // tenant container (no fstab, disks, consoles, kernel command line or hibernation of its own),
    // and together they took about 1.1 s of a 1.55 s boot here (load 27). The sysv one goes too: an
    // image's own units run, its SysV init scripts do not.
    private static readonly string[] MaskedGenerators =
    [
        "systemd-cryptsetup-generator", "systemd-debug-generator", "systemd-fstab-generator", "systemd-getty-generator",
        "systemd-gpt-auto-generator", "systemd-hibernate-resume-generator", "systemd-integritysetup-generator",
        "systemd-rc-local-generator", "systemd-run-generator", "systemd-system-update-generator", "systemd-sysv-generator",
        "systemd-veritysetup-generator", "systemd-bless-boot-generator", "systemd-ssh-generator", "systemd-tpm2-generator",
    ];

    // The bus hostd reaches the container's systemd through, up as early as systemd can start it:
    // without default dependencies neither waits for sysinit.target (dbus.socket was at 1.35 s, behind
    // tmpfiles and the slices; 0.2 s without).
    private static readonly string[] EarlyUnits = ["dbus.socket", "dbus.service"];
    private const string EarlyDropIn = "[Unit]\nDefaultDependencies=no\n";

    private readonly ContainerOptions options;
    private readonly HostAgentOptions host;
    private readonly ILogger logger;
    private readonly Networking.TenantNetworks? networks;
    private readonly Shared.TenantDirectories tenantDirectories;
    private readonly Dictionary<string, TenantContainer> containers = new(StringComparer.Ordinal);
    private readonly Lock gate = new();
    private readonly string[] hierarchies;
    private bool disposed;
    private bool scaffoldReady;

    /// <param name="networks">The tenants' networks a container joins (<see cref="ContainerOptions.Network"/> tenant); null: private networks.</param>
    public ContainerManager(HostAgentOptions host, ILogger<ContainerManager> logger, Networking.TenantNetworks? networks = null)
    {
        this.host = host;
        options = host.Containers;
        this.logger = logger;
        tenantDirectories = new Shared.TenantDirectories(host);
        this.networks = string.Equals(options.Network, "tenant", StringComparison.Ordinal) ? networks : null;

        // nspawn keeps its payload in the unified hierarchy where there is one (v2, or hybrid
        // v1 with cgroup2 at unified/), else in name=systemd; limits live in the v1 controllers.
        var mount = host.CgroupMount;
        hierarchies = File.Exists(Path.Combine(mount, "cgroup.controllers"))
            ? [mount]
            : [.. V1Hierarchies.Select(h => Path.Combine(mount, h)).Where(Directory.Exists)];
    }

    /// <summary>Containers running (or starting) now.</summary>
    public IReadOnlyList<TenantContainer> Running
    {
        get
        {
            lock (gate)
            {
                return [.. containers.Values];
            }
        }
    }

    /// <summary>The container's machine name: <c>nf-&lt;tenant&gt;-&lt;8 hex of the image root's sha256&gt;</c>, a valid host name.</summary>
    public static string NameFor(string tenant, string imageRoot)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(imageRoot)))[..8];
        var clean = new StringBuilder(tenant.Length);
        foreach (var ch in tenant.ToLowerInvariant())
        {
            clean.Append(char.IsAsciiLetterOrDigit(ch) ? ch : '-');
        }

        var t = clean.ToString().Trim('-');
        if (t.Length > 40)
        {
            t = t[..40].TrimEnd('-');
        }

        return t.Length == 0 ? $"nf-{hash}" : $"nf-{t}-{hash}";
    }

    /// <summary>
    /// The container <paramref name="name"/>, started now when it is not running, with one more
    /// user: the caller releases it with <see cref="Release"/> when its process has ended (or
    /// did not start). Throws <see cref="SpawnRejectedException"/> when it cannot start.
    /// </summary>
    public async Task<TenantContainer> AcquireAsync(string name, string tenant, string imageRoot, uint uid, uint gid, CancellationToken ct)
    {
        while (true)
        {
            TenantContainer? c;
            Task wait;
            lock (gate)
            {
                ObjectDisposedException.ThrowIf(disposed, this);
                if (containers.TryGetValue(name, out c) && c.Stopping)
                {
                    wait = c.Stopped.Task;
                }
                else
                {
                    if (c is null)
                    {
                        c = new TenantContainer(name, tenant, imageRoot, options.ParsedMode, Boots(imageRoot), Path.Combine(host.CgroupRoot, host.Node, "containers", name));
                        containers[name] = c;
                        var started = c;
                        c.Started = Task.Run(() => StartAsync(started, uid, gid), CancellationToken.None);
                    }

                    c.Users++;
                    c.Linger?.Cancel();
                    c.Linger = null;
                    wait = c.Started;
                }
            }

            if (!c.Stopping)
            {
                try
                {
                    await wait.WaitAsync(ct).ConfigureAwait(false);
                    return c;
                }
                catch
                {
                    Release(name);
                    throw;
                }
            }

            await wait.WaitAsync(ct).ConfigureAwait(false);
        }
    }

    /// <summary>One user of the container is done; the last one starts its linger.</summary>
    public void Release(string name)
    {
        CancellationTokenSource linger;
        TenantContainer? c;
        lock (gate)
        {
            if (!containers.TryGetValue(name, out c) || c.Stopping || --c.Users > 0)
            {
                return;
            }

            linger = new CancellationTokenSource();
            c.Linger = linger;
        }

        _ = LingerThenStopAsync(c, linger);
    }

    /// <summary>Completes when container <paramref name="name"/> is not running (at once when it is not).</summary>
    public Task StoppedAsync(string name)
    {
        lock (gate)
        {
            return containers.TryGetValue(name, out var c) ? c.Stopped.Task : Task.CompletedTask;
        }
    }

    /// <summary>Stops what an earlier hostd left: every process in its containers' cgroups, then the cgroups.</summary>
    public int StopLeftovers()
    {
        var killed = 0;
        foreach (var h in hierarchies)
        {
            var dir = Path.Combine(h, host.CgroupRoot, host.Node, "containers");
            if (!Directory.Exists(dir))
            {
                continue;
            }

            foreach (var pid in PidsBelow(dir))
            {
                if (LibC.kill(pid, LibC.SIGKILL) == 0)
                {
                    killed++;
                }
            }
        }

        foreach (var h in hierarchies)
        {
            var dir = Path.Combine(h, host.CgroupRoot, host.Node, "containers");
            foreach (var child in Directory.Exists(dir) ? Directory.GetDirectories(dir) : [])
            {
                RemoveCgroupTree(child, TimeSpan.FromSeconds(2));
            }
        }

        if (killed > 0)
        {
            logger.LogWarning("Stopped {Count} processes of containers an earlier hostd left running", killed);
        }

        return killed;
    }

    public async ValueTask DisposeAsync()
    {
        List<TenantContainer> all;
        List<Task> stopping;
        lock (gate)
        {
            if (disposed)
            {
                return;
            }

            disposed = true;

            // Those a linger is stopping already are awaited, not stopped twice.
            stopping = [.. containers.Values.Where(c => c.Stopping).Select(c => c.Stopped.Task)];
            all = [.. containers.Values.Where(c => !c.Stopping)];
            foreach (var c in all)
            {
                c.Linger?.Cancel();
                c.Stopping = true;
            }
        }

        await Task.WhenAll(stopping).ConfigureAwait(false);
        await Task.WhenAll(all.Select(async c =>
        {
            try
            {
                await c.Started.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // It never ran: its start already cleaned up.
                return;
            }

            await StopAsync(c).ConfigureAwait(false);
        })).ConfigureAwait(false);

        foreach (var h in hierarchies)
        {
            RemoveCgroupTree(Path.Combine(h, host.CgroupRoot, host.Node, "containers"), TimeSpan.Zero);

            // The node's own directory too once it is empty (its processes' cgroups are the engine's;
            // name=systemd and the unified hierarchy hold only containers).
            try
            {
                Directory.Delete(Path.Combine(h, host.CgroupRoot, host.Node));
            }
            catch (IOException)
            {
                // Not empty, or gone already.
            }
        }
    }

    private static bool Boots(string imageRoot) =>
        File.Exists(Path.Combine(imageRoot, "lib/systemd/systemd")) || File.Exists(Path.Combine(imageRoot, "usr/lib/systemd/systemd"));

    private async Task LingerThenStopAsync(TenantContainer c, CancellationTokenSource linger)
    {
        try
        {
            if (options.Linger > TimeSpan.Zero)
            {
                await Task.Delay(options.Linger, linger.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            return;
        }
        finally
        {
            linger.Dispose();
        }

        lock (gate)
        {
            if (c.Users > 0 || c.Stopping || !ReferenceEquals(c.Linger, linger))
            {
                return;
            }

            c.Stopping = true;
            c.Linger = null;
        }

        try
        {
            await c.Started.ConfigureAwait(false);
        }
        catch (Exception)
        {
            return;
        }

        await StopAsync(c).ConfigureAwait(false);
    }

    private async Task StartAsync(TenantContainer c, uint uid, uint gid)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            await StartNspawnAsync(c, uid, gid).ConfigureAwait(false);
            logger.LogInformation("Container {Name} of tenant {Tenant} up in {Ms:F1} ms (leader pid {Pid}, {Kind}, {Mode})",
                c.Name, c.Tenant, clock.Elapsed.TotalMilliseconds, c.LeaderPid, c.Boots ? "systemd" : "nefele-pause", c.Mode);
        }
        catch (Exception e)
        {
            await CleanUpAsync(c).ConfigureAwait(false);
            lock (gate)
            {
                if (containers.TryGetValue(c.Name, out var current) && ReferenceEquals(current, c))
                {
                    containers.Remove(c.Name);
                }
            }

            await ReleaseNetworkAsync(c).ConfigureAwait(false);
            c.Stopped.TrySetResult();
            if (e is SpawnRejectedException)
            {
                throw;
            }

            throw new SpawnRejectedException($"spawn rejected: the tenant container {c.Name} did not start: {e.Message}", e);
        }
    }

    private async Task StartNspawnAsync(TenantContainer c, uint uid, uint gid)
    {
        if (!Directory.Exists(c.ImageRoot))
        {
            throw new SpawnRejectedException($"spawn rejected: image root {c.ImageRoot} does not exist on this node");
        }

        var scaffold = EnsureScaffold();
        var args = new List<string>
        {
            "--register=no", "--keep-unit", "--quiet", "--console=pipe", "--link-journal=no",
            "--timezone=off", "--resolv-conf=off",
            "--machine=" + c.Name,
            "--directory=" + (Directory.Exists(Path.Combine(c.ImageRoot, "usr")) ? c.ImageRoot : scaffold),
        };

        if (c.Mode == ContainerMode.Development)
        {
            var upper = UpperDirectory(c.Tenant, c.ImageRoot);
            Directory.CreateDirectory(upper);
            args.Add($"--overlay={Escape(c.ImageRoot)}:{Escape(scaffold)}:{Escape(upper)}:/");
        }
        else
        {
            args.Add($"--overlay-ro={Escape(c.ImageRoot)}:{Escape(scaffold)}:/");
            args.Add("--read-only");
        }

        args.Add($"--bind-ro={Escape(host.ShimPath)}:{ProcessPaths.ContainerShim}");
        args.Add($"--bind={Escape(host.ApiSocketPath)}:{ProcessPaths.ContainerApiSocket}");
        args.Add($"--bind={Escape(tenantDirectories.Ensure(c.Tenant, uid, gid))}:{Nefele.Shared.SharedDirectory.ContainerPath}");

        if (networks is null)
        {
            args.Add("--private-network");
        }
        else
        {
            c.NetworkUid = uid;
            try
            {
                var network = await networks.EnsureAsync(c.Tenant, uid, CancellationToken.None).ConfigureAwait(false);
                args.Add("--network-namespace-path=" + network.NamespacePath);
            }
            catch (Networking.TenantNetworkException e)
            {
                throw new SpawnRejectedException($"spawn rejected: the tenant container {c.Name} has no network: {e.Message}", e);
            }
        }

        if (c.Boots)
        {
            args.Add("--boot");
        }
        else
        {
            args.Add($"--bind-ro={Escape(options.PausePath)}:{PauseInside}");
            args.Add("--kill-signal=SIGTERM");
            args.Add(PauseInside);
        }

        // nspawn must start in the container's own cgroup: the shell joins it, then execs nspawn.
        var procsFiles = new List<string>();
        foreach (var h in hierarchies)
        {
            var dir = Path.Combine(h, c.Cgroup);
            Directory.CreateDirectory(dir);
            procsFiles.Add(Path.Combine(dir, "cgroup.procs"));
        }

        var logDir = Path.Combine(host.RunDirectory, "containers");
        Directory.CreateDirectory(logDir);
        c.LogPath = Path.Combine(logDir, c.Name + ".log");

        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("log=$1; shift; while [ \"$1\" != -- ]; do echo $$ > \"$1\" || exit 125; shift; done; shift; exec \"$@\" >\"$log\" 2>&1 </dev/null");
        start.ArgumentList.Add("nefele-container");
        start.ArgumentList.Add(c.LogPath);
        foreach (var f in procsFiles)
        {
            start.ArgumentList.Add(f);
        }

        start.ArgumentList.Add("--");
        start.ArgumentList.Add(options.NspawnPath);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment.Remove("NOTIFY_SOCKET");
        c.Nspawn = Process.Start(start) ?? throw new IOException("systemd-nspawn did not start");
        c.Exited = c.Nspawn.WaitForExitAsync();

        var deadline = Stopwatch.StartNew();

        // The container's pid 1 is nspawn's only child once set up (a booted systemd moves
        // itself out of payload/ into init.scope, so the cgroup does not tell it).
        var children = $"/proc/{c.Nspawn.Id}/task/{c.Nspawn.Id}/children";
        while (true)
        {
            if (c.Nspawn.HasExited)
            {
                throw new SpawnRejectedException($"spawn rejected: the tenant container {c.Name} did not start: systemd-nspawn exited with {c.Nspawn.ExitCode}: {LogTail(c.LogPath)}");
            }

            if (ReadLeader(children) is { } leader && IsUp(c, leader))
            {
                c.LeaderPid = leader;
                break;
            }

            if (deadline.Elapsed > options.StartTimeout)
            {
                throw new SpawnRejectedException($"spawn rejected: the tenant container {c.Name} was not up within {options.StartTimeout.TotalSeconds:F0} s (HostAgent:Containers:StartTimeout): {LogTail(c.LogPath)}");
            }

            await Task.Delay(PollInterval).ConfigureAwait(false);
        }

        c.Namespaces = ContainerNamespaces.Open(c.LeaderPid);
    }

    private static int? ReadLeader(string childrenFile)
    {
        try
        {
            var text = File.ReadAllText(childrenFile).Trim();
            if (text.Length == 0)
            {
                return null;
            }

            var first = text.Split(' ')[0];
            return int.Parse(first, CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    private static bool IsUp(TenantContainer c, int leader)
    {
        try
        {
            // Until its exec the payload is nspawn's own child.
            var exe = new FileInfo($"/proc/{leader}/exe").LinkTarget ?? "";
            if (!c.Boots)
            {
                return exe.EndsWith("/nefele-pause", StringComparison.Ordinal);
            }

            return !exe.EndsWith("/systemd-nspawn", StringComparison.Ordinal) && File.Exists($"/proc/{leader}/root/{TenantContainer.SystemBus}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private async Task StopAsync(TenantContainer c)
    {
        var clock = Stopwatch.StartNew();

        // pid 1 ends the container: nefele-pause on SIGTERM, systemd powers off on SIGRTMIN+3.
        if (c.LeaderPid > 0)
        {
            LibC.kill(c.LeaderPid, c.Boots ? SigRtMinPlus3 : LibC.SIGTERM);
        }

        if (c.Nspawn is { } nspawn)
        {
            using var grace = new CancellationTokenSource(host.StopGrace > TimeSpan.Zero ? host.StopGrace : TimeSpan.FromSeconds(1));
            try
            {
                await nspawn.WaitForExitAsync(grace.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                logger.LogWarning("Container {Name} did not stop within the grace period; killing it", c.Name);
            }
        }

        await CleanUpAsync(c).ConfigureAwait(false);
        lock (gate)
        {
            if (containers.TryGetValue(c.Name, out var current) && ReferenceEquals(current, c))
            {
                containers.Remove(c.Name);
            }
        }

        await ReleaseNetworkAsync(c).ConfigureAwait(false);
        c.Stopped.TrySetResult();
        logger.LogInformation("Container {Name} stopped in {Ms:F1} ms", c.Name, clock.Elapsed.TotalMilliseconds);
    }

    /// <summary>Kills what is left of the container, waits for nspawn, closes its namespaces and removes its cgroup and nspawn's run dir.</summary>
    private async Task CleanUpAsync(TenantContainer c)
    {
        foreach (var h in hierarchies)
        {
            foreach (var pid in PidsBelow(Path.Combine(h, c.Cgroup)))
            {
                LibC.kill(pid, LibC.SIGKILL);
            }
        }

        if (c.Nspawn is { } nspawn)
        {
            if (!nspawn.HasExited)
            {
                try
                {
                    nspawn.Kill();
                }
                catch (InvalidOperationException)
                {
                    // It has just exited.
                }
            }

            using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await nspawn.WaitForExitAsync(bounded.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                logger.LogWarning("systemd-nspawn of container {Name} (pid {Pid}) did not exit after SIGKILL", c.Name, nspawn.Id);
            }

            nspawn.Dispose();
        }

        c.Namespaces?.Dispose();
        foreach (var h in hierarchies)
        {
            RemoveCgroupTree(Path.Combine(h, c.Cgroup), TimeSpan.FromSeconds(2));
        }

        // nspawn leaves its propagation directory behind when /run is not a tmpfs.
        var propagate = Path.Combine("/run/systemd/nspawn/propagate", c.Name);
        try
        {
            if (Directory.Exists(propagate))
            {
                Directory.Delete(propagate, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogDebug("Could not remove {Dir}: {Error}", propagate, e.Message);
        }
    }

    /// <summary>The tenant's network goes when its last container on this node has stopped.</summary>
    private async Task ReleaseNetworkAsync(TenantContainer c)
    {
        if (networks is null || c.NetworkUid is not { } uid)
        {
            return;
        }

        lock (gate)
        {
            if (containers.Values.Any(other => string.Equals(other.Tenant, c.Tenant, StringComparison.Ordinal)))
            {
                return;
            }
        }

        try
        {
            await networks.ReleaseAsync(c.Tenant, uid, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Networking.TenantNetworkException e)
        {
            logger.LogWarning("Tenant {Tenant}'s network on this node was not removed: {Error}", c.Tenant, e.Message);
        }
    }

    private static IEnumerable<int> PidsBelow(string cgroup)
    {
        if (!Directory.Exists(cgroup))
        {
            yield break;
        }

        var dirs = new List<string> { cgroup };
        try
        {
            dirs.AddRange(Directory.EnumerateDirectories(cgroup, "*", SearchOption.AllDirectories));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Removed while listed.
        }

        foreach (var dir in dirs)
        {
            string[] lines;
            try
            {
                lines = File.ReadAllLines(Path.Combine(dir, "cgroup.procs"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            foreach (var line in lines)
            {
                if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
                {
                    yield return pid;
                }
            }
        }
    }

    /// <summary>rmdir of the tree, deepest first; a cgroup whose last process is still exiting is retried until <paramref name="within"/>.</summary>
    private void RemoveCgroupTree(string cgroup, TimeSpan within)
    {
        if (!Directory.Exists(cgroup))
        {
            return;
        }

        var clock = Stopwatch.StartNew();
        List<string> dirs;
        try
        {
            dirs = [.. Directory.EnumerateDirectories(cgroup, "*", SearchOption.AllDirectories).OrderByDescending(d => d.Length)];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            dirs = [];
        }

        dirs.Add(cgroup);
        foreach (var dir in dirs)
        {
            while (true)
            {
                try
                {
                    Directory.Delete(dir);
                    break;
                }
                catch (DirectoryNotFoundException)
                {
                    break;
                }
                catch (IOException e) when (clock.Elapsed < within)
                {
                    _ = e;
                    Thread.Sleep(PollInterval);
                }
                catch (IOException e)
                {
                    logger.LogWarning("Could not remove cgroup {Dir}: {Error}", dir, e.Message);
                    break;
                }
            }
        }
    }

    /// <summary>The scaffold laid over every image, made (again) by the first container this hostd starts.</summary>
    private string EnsureScaffold()
    {
        var scaffold = Path.Combine(options.StateDirectory, "scaffold");
        lock (gate)
        {
            if (scaffoldReady)
            {
                return scaffold;
            }
        }

        foreach (var d in ScaffoldDirectories)
        {
            Directory.CreateDirectory(Path.Combine(scaffold, d));
        }

        foreach (var f in ScaffoldFiles)
        {
            using var _ = File.Create(Path.Combine(scaffold, f));
        }

        var units = Path.Combine(scaffold, "etc/systemd/system");
        Directory.CreateDirectory(units);
        foreach (var unit in MaskedUnits)
        {
            Relink(Path.Combine(units, unit), "/dev/null");
        }

        var generators = Path.Combine(scaffold, "etc/systemd/system-generators");
        Directory.CreateDirectory(generators);
        foreach (var generator in MaskedGenerators)
        {
            Relink(Path.Combine(generators, generator), "/dev/null");
        }

        foreach (var unit in EarlyUnits)
        {
            var dropIns = Path.Combine(units, unit + ".d");
            Directory.CreateDirectory(dropIns);
            File.WriteAllText(Path.Combine(dropIns, "nefele-early.conf"), EarlyDropIn);
        }

        // No display manager or graphical session in a tenant container.
        Relink(Path.Combine(units, "default.target"), "/lib/systemd/system/multi-user.target");
        lock (gate)
        {
            scaffoldReady = true;
        }

        return scaffold;
    }

    private static void Relink(string link, string target)
    {
        if (new FileInfo(link).LinkTarget == target)
        {
            return;
        }

        File.Delete(link);
        File.CreateSymbolicLink(link, target);
    }

    /// <summary>Where a development container of this tenant and image keeps its changes.</summary>
    public string UpperDirectory(string tenant, string imageRoot) =>
        Path.Combine(options.StateDirectory, "overlays", NameFor(tenant, imageRoot), "upper");

    /// <summary>nspawn's path lists are colon-separated; a colon in a path is written \:.</summary>
    private static string Escape(string path) => path.Replace("\\", "\\\\", StringComparison.Ordinal).Replace(":", "\\:", StringComparison.Ordinal);

    private static string LogTail(string path)
    {
        try
        {
            var text = File.Exists(path) ? File.ReadAllText(path).Trim() : "";
            return text.Length == 0 ? "(no output)" : text.Length <= 400 ? text : "…" + text[^400..];
        }
        catch (IOException)
        {
            return "(its log is unreadable)";
        }
    }

}
