namespace Nefele.HostAgent;

/// <summary>
/// Settings of nefele-hostd (configuration section <c>HostAgent</c>; the short flags
/// <c>--node</c>, <c>--run-dir</c>, … map onto these, see <see cref="CommandLine"/>).
/// </summary>
public sealed class HostAgentOptions
{
    public const string SectionName = "HostAgent";

    /// <summary>Node name reported to the silo and used in cgroup paths. Default: the machine's host name.</summary>
    public string Node { get; set; } = "";

    /// <summary>
    /// Directory for control.sock, api.sock and logs/. Default: <c>/run/nefele/&lt;node&gt;</c>
    /// so that two hostd instances on one machine (tests, several nodes) never share sockets.
    /// </summary>
    public string RunDirectory { get; set; } = "";

    /// <summary>
    /// Path of libnefele-shim.so, preloaded into every process that handshakes. Default: env
    /// <c>NEFELE_SHIM</c>, else <c>native/build/libnefele-shim.so</c> two levels above the binary
    /// (the layout of a source checkout). A missing shim is only a warning: processes then
    /// fail their handshake, and <c>no_handshake</c> launches still work.
    /// </summary>
    public string ShimPath { get; set; } = "";

    /// <summary>
    /// Path of libnefele-spawn.so, which does fork/exec for the native engine. Default: env
    /// <c>NEFELE_SPAWN_LIB</c>, else <c>native/build/libnefele-spawn.so</c> two levels above the binary.
    /// Required: hostd cannot start processes without it.
    /// </summary>
    public string SpawnLibraryPath { get; set; } = "";

    /// <summary>
    /// Process engine, chosen by name: <c>native</c> (fork/exec, the default: no daemon in the
    /// spawn path) or <c>systemd</c> (a transient unit per process on the systemd at <see cref="SystemdBus"/>).
    /// </summary>
    public string Engine { get; set; } = "native";

    /// <summary>
    /// The D-Bus address of the systemd the <c>systemd</c> engine starts units on. Default: the
    /// host's system bus (<c>unix:path=/run/dbus/system_bus_socket</c>) when PID 1 is systemd;
    /// on a host whose PID 1 is not, give one, e.g. the testbed's (<c>scripts/systemd-testbed bus</c>).
    /// </summary>
    public string SystemdBus { get; set; } = "";

    /// <summary>The host's system bus, the <c>systemd</c> engine's default when PID 1 is systemd.</summary>
    public const string HostSystemBus = "unix:path=/run/dbus/system_bus_socket";

    /// <summary>
    /// How long a launched process has to complete the shim handshake before it is killed.
    /// Default 5 s: the shim runs before main(), so a healthy process handshakes in milliseconds;
    /// a longer wait only delays reporting a static binary. Allowed: 100 ms to 10 min.
    /// </summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Time between SIGTERM and SIGKILL when hostd stops its processes on shutdown.
    /// Default 5 s, enough for a well-behaved program to flush and exit. Allowed: 0 to 10 min.
    /// </summary>
    public TimeSpan StopGrace { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Output kept per process, in bytes. When exceeded, the oldest half is dropped.
    /// Default 1 MiB: enough to diagnose a crash, bounded so chatty processes cannot fill the disk.
    /// Allowed: 4 KiB to 1 GiB.
    /// </summary>
    public long LogLimitBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Sends every process's output records to the OTLP logs endpoint of the standard
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> / <c>OTEL_EXPORTER_OTLP_LOGS_ENDPOINT</c> variables when
    /// <c>otlp</c>. Default empty: off. Opt-in rather than on with the endpoint, because that endpoint
    /// is often set for hostd's own metrics and traces, and a tenant's output (its volume, and what
    /// it may print) should leave the node only when the operator says so. Allowed: empty, <c>off</c>, <c>otlp</c>.
    /// </summary>
    public string LogExport { get; set; } = "";

    /// <summary>
    /// File to which every process's output records are appended, one JSON object a line, for a
    /// log shipper to tail. Default empty: none. Reopened on SIGHUP and when the path no longer
    /// names the open file (moved by logrotate). Allowed: empty or an absolute path.
    /// </summary>
    public string LogExportFile { get; set; } = "";

    /// <summary>
    /// Output records each export holds while its store catches up (and at most
    /// <see cref="Logs.Export.LogExports.MaxQueuedBytes"/> of text); past it, new records are
    /// dropped and counted (<c>nefele.hostd.log_export.dropped</c>) rather than slowing or
    /// stopping a process. Default 8192: a few seconds of a busy node's output.
    /// Allowed: 64 to 1,000,000.
    /// </summary>
    public int LogExportQueue { get; set; } = 8192;

    /// <summary>
    /// How many ended processes keep their output readable after the silo acknowledged the
    /// exit (oldest dropped first), so logs of a finished process can still be read, as
    /// with docker logs or kubectl logs of a completed pod. Default 1000. Allowed: 0 to 1,000,000.
    /// </summary>
    public int EndedLogsKept { get; set; } = 1000;

    /// <summary>
    /// Name of hostd's subtree in each cgroup hierarchy: processes live in
    /// <c>&lt;controller&gt;/&lt;root&gt;/&lt;node&gt;/&lt;tenant&gt;/&lt;npid&gt;</c>. Default <c>nefele</c>.
    /// </summary>
    public string CgroupRoot { get; set; } = "nefele";

    /// <summary>Mount point of the cgroup file systems. Default <c>/sys/fs/cgroup</c>; tests never change it.</summary>
    public string CgroupMount { get; set; } = "/sys/fs/cgroup";

    /// <summary>
    /// Open files each process may have (RLIMIT_NOFILE, soft and hard), unless its launch sets
    /// its own. Default 65536: what servers commonly need, far below what would exhaust the
    /// kernel. Never above hostd's own hard limit (it is capped there). Allowed: 64 to 1,048,576.
    /// </summary>
    public long RlimitNofile { get; set; } = 65536;

    /// <summary>
    /// Processes and threads a tenant's uid may have on this node (RLIMIT_NPROC, counted by the
    /// kernel per uid across all its processes), unless the launch sets its own. Default 16384:
    /// a fork bomb stops there instead of at the machine's limit. Not applied to root (privileged
    /// tenants), which the kernel does not limit. Allowed: 16 to 4,194,304.
    /// </summary>
    public long RlimitNproc { get; set; } = 16384;

    /// <summary>
    /// Largest core dump a process may write, in bytes (RLIMIT_CORE). Default 0: a crashing
    /// process must not fill the node's disk or leave its memory in a file. Allowed: 0 to 1 TiB.
    /// </summary>
    public long RlimitCore { get; set; }

    /// <summary>
    /// The only uid whose connections the control socket accepts (SO_PEERCRED); the socket file
    /// is owned by it. Default 0 (root): the silo runs as root unless the operator says otherwise.
    /// </summary>
    public uint SiloUid { get; set; }

    /// <summary>
    /// File with the node's control secret, which the silo presents in its first request.
    /// Created (mode 0600, owned by <see cref="SiloUid"/>, 32 random bytes hex-encoded) when
    /// missing. Default <c>&lt;run-dir&gt;/control.secret</c>, where the silo looks by default.
    /// </summary>
    public string ControlSecretFile { get; set; } = "";

    /// <summary>
    /// TCP port on which hostd answers other nodes' silos that its node is alive, with one line,
    /// <c>nefele-hostd &lt;node&gt;</c>, and nothing else. When this node's silo crashes, the others
    /// ask here before giving its processes up: a hostd that answers still runs them, so they wait
    /// for the silo to restart instead. Default 0: not served (a node alone needs none; a cluster
    /// node should serve it, on the port the silos' Failure:HostdLivenessPort names). Allowed: 0 to 65535.
    /// </summary>
    public int LivenessPort { get; set; }

    /// <summary>
    /// Address (<c>host:port</c>) on which hostd serves its own Prometheus scrape at <c>/metrics</c>
    /// (its meters, runtime and process instruments). Default empty: not served. hostd has no other
    /// HTTP server and the scrape needs no key, so keep it on loopback or a private network; it is
    /// separate from the silo's so that hostd's figures stay readable while the silo is down.
    /// </summary>
    public string MetricsListen { get; set; } = "";

    /// <summary>
    /// The cluster id this node belongs to, written into hostd's telemetry as the resource
    /// attribute <c>nefele.cluster.id</c> (nothing else uses it). Default empty: left out.
    /// </summary>
    public string ClusterId { get; set; } = "";

    /// <summary>The HttpListener prefix of <see cref="MetricsListen"/>, or null when it is empty or not <c>host:port</c>.</summary>
    public string? MetricsPrefix() => MetricsPrefix(MetricsListen);

    /// <summary>The HttpListener prefix (<c>http://host:port/</c>) of a <c>host:port</c>, or null when it is not one.</summary>
    public static string? MetricsPrefix(string listen) =>
        !string.IsNullOrWhiteSpace(listen) && !listen.Contains('/', StringComparison.Ordinal)
            && Uri.TryCreate($"http://{listen}/", UriKind.Absolute, out var uri) && uri.Port is > 0 and <= 65535 && !uri.IsDefaultPort
            && uri.AbsolutePath == "/" && string.IsNullOrEmpty(uri.UserInfo)
            ? $"http://{uri.Authority}/"
            : null;

    /// <summary>
    /// How long hostd keeps a mailbox that a delivery created for a process placed on this node
    /// but not launched yet (messages sent before it runs wait there). Default 60 s: far longer
    /// than a launch takes, short enough that mailboxes of launches that never came do not pile
    /// up. When it passes, the mailbox is dropped and its messages counted as dropped.
    /// Allowed: 1 s to 1 h.
    /// </summary>
    public TimeSpan PendingMailboxTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long a send that waits for the silo's answer (an acknowledged send to another node, or
    /// one that may wait for room there) waits for it beyond its own wait for room, before it
    /// fails with control_plane_unavailable. Default 30 s: a silo answers in milliseconds; this
    /// only bounds a silo that stopped answering without closing the connection.
    /// Allowed: 1 s to 10 min.
    /// </summary>
    public TimeSpan SiloAnswerTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Tenant containers (systemd-nspawn): see <see cref="Containers.ContainerOptions"/>.</summary>
    public Containers.ContainerOptions Containers { get; set; } = new();
    /// <summary>
    /// The directory every node mounts (<see cref="Nefele.Shared.SharedDirectory"/>, the silo's
    /// <c>--shared-dir</c> names the same one): hostd makes <c>tenants/&lt;tenant&gt;/</c> in it, owned by
    /// the tenant's uid and gid with mode 0770, gives host processes its path as <c>NEFELE_SHARED</c>,
    /// and reads image layers from its <c>images/</c>. Default <c>/var/lib/nefele-shared</c>.
    /// </summary>
    public string SharedDirectory { get; set; } = "";

    /// <summary>
    /// Where this node unpacks image layers, once per layer digest (<c>&lt;dir&gt;/&lt;hex&gt;/rootfs</c>);
    /// a local disk, not the shared one. Default <c>/var/cache/nefele/images</c>.
    /// </summary>
    public string ImageCache { get; set; } = "";

    /// <summary>
    /// How often hostd removes from <see cref="ImageCache"/> the unpacked layers that no process or
    /// container of this node uses and no tag of any tenant in the shared directory references any
    /// more (<see cref="Images.ImageCache.Evict"/>). Default 10 min: a deleted image's disk comes
    /// back soon, and a sweep (reading the tags of the store) stays rare. Zero turns it off.
    /// Allowed: zero, or 1 s to 24 h.
    /// </summary>
    public TimeSpan ImageCacheSweep { get; set; } = TimeSpan.FromMinutes(10);

    public string ControlSocketPath => Path.Combine(RunDirectory, "control.sock");

    public string ApiSocketPath => Path.Combine(RunDirectory, "api.sock");

    public string LogDirectory => Path.Combine(RunDirectory, "logs");

    /// <summary>Fills in the defaults that depend on the machine (host name, paths beside the binary, env).</summary>
    public void ApplyDefaults()
    {
        if (string.IsNullOrWhiteSpace(Node))
        {
            Node = System.Net.Dns.GetHostName();
        }

        if (string.IsNullOrWhiteSpace(RunDirectory))
        {
            RunDirectory = Path.Combine("/run/nefele", Node);
        }

        if (string.IsNullOrWhiteSpace(ShimPath))
        {
            ShimPath = Environment.GetEnvironmentVariable("NEFELE_SHIM") is { Length: > 0 } shim
                ? shim
                : BesideBinary("libnefele-shim.so");
        }

        if (string.IsNullOrWhiteSpace(SpawnLibraryPath))
        {
            SpawnLibraryPath = Environment.GetEnvironmentVariable("NEFELE_SPAWN_LIB") is { Length: > 0 } lib
                ? lib
                : BesideBinary("libnefele-spawn.so");
        }

        if (string.IsNullOrWhiteSpace(ControlSecretFile))
        {
            ControlSecretFile = Path.Combine(RunDirectory, "control.secret");
        }

        if (string.IsNullOrWhiteSpace(SharedDirectory) || Path.IsPathFullyQualified(SharedDirectory))
        {
            SharedDirectory = Nefele.Shared.SharedDirectory.Resolve(SharedDirectory);
        }

        if (string.IsNullOrWhiteSpace(ImageCache))
        {
            ImageCache = "/var/cache/nefele/images";
        }

        ImageCache = Path.GetFullPath(ImageCache);
        if (string.IsNullOrWhiteSpace(SystemdBus) && PidOneIsSystemd())
        {
            SystemdBus = HostSystemBus;
        }

        RunDirectory = Path.GetFullPath(RunDirectory);
        ControlSecretFile = Path.GetFullPath(ControlSecretFile);
        ShimPath = Path.GetFullPath(ShimPath);
        SpawnLibraryPath = Path.GetFullPath(SpawnLibraryPath);
        Containers.ApplyDefaults(Node, SpawnLibraryPath);
    }

    private static bool PidOneIsSystemd()
    {
        try
        {
            return File.ReadAllText("/proc/1/comm").Trim() == "systemd";
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static string BesideBinary(string file) =>
        Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "native", "build", file));
}
