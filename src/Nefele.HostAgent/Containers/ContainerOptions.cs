namespace Nefele.HostAgent.Containers;

/// <summary>
/// Settings of tenant containers (configuration section <c>HostAgent:Containers</c>; flags
/// <c>--container-*</c>; /shared is the tenant's directory of <see cref="HostAgentOptions.SharedDirectory"/>).
/// </summary>
public sealed class ContainerOptions
{
    /// <summary>
    /// Run processes launched from an image in their tenant's container. Default true; needs
    /// root and systemd-nspawn (hostd warns at start-up and runs them without a container when
    /// either is missing).
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// <c>tenant</c>: a container joins its tenant's network on this node (HostAgent:TenantNetwork),
    /// which reaches the tenant's containers on other nodes and nothing else; it needs the silo's
    /// peer list (a cluster). <c>private</c>: a network namespace of its own with only loopback.
    /// Default <c>private</c>, which a node alone needs; cluster nodes pass <c>tenant</c>.
    /// </summary>
    public string Network { get; set; } = "private";

    /// <summary>
    /// How long a container whose last process ended keeps running before it is stopped, so a
    /// tenant that spawns again soon starts warm. Default 30 s: a container's cold start costs
    /// hundreds of milliseconds, an idle one a few megabytes. Allowed: 0 to 1 h.
    /// </summary>
    public TimeSpan Linger { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a container has to come up (its pid 1 running; for a booted image, its bus)
    /// before the launch that needed it is rejected. Default 15 s: a systemd image boots in
    /// about half a second here; this bounds a broken image. Allowed: 1 s to 10 min.
    /// </summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// <c>production</c>: the image root is read-only. <c>development</c>: an overlay whose upper
    /// dir (under <see cref="StateDirectory"/>, per tenant and image) keeps changes across
    /// container restarts. A node setting. Default <c>production</c>.
    /// </summary>
    public string Mode { get; set; } = "production";

    /// <summary>
    /// Where hostd keeps the containers' scaffold (mount points laid over every image) and the
    /// development overlays (<c>overlays/&lt;tenant&gt;/&lt;image&gt;/upper</c>). It must be on a file
    /// system that overlayfs accepts as an upper dir. Default <c>/var/lib/nefele/&lt;node&gt;/containers</c>.
    /// </summary>
    public string StateDirectory { get; set; } = "";

    /// <summary>
    /// pid 1 of containers whose image has no systemd. Default env <c>NEFELE_PAUSE</c>, else
    /// <c>native/build/nefele-pause</c> beside the spawn library.
    /// </summary>
    public string PausePath { get; set; } = "";

    /// <summary>The systemd-nspawn binary. Default <c>systemd-nspawn</c> from PATH.</summary>
    public string NspawnPath { get; set; } = "systemd-nspawn";

    public ContainerMode ParsedMode => string.Equals(Mode, "development", StringComparison.Ordinal) ? ContainerMode.Development : ContainerMode.Production;

    /// <summary>Fills the defaults that depend on the node and where the spawn library is.</summary>
    public void ApplyDefaults(string node, string spawnLibraryPath)
    {
        if (string.IsNullOrWhiteSpace(StateDirectory))
        {
            StateDirectory = Path.Combine("/var/lib/nefele", node, "containers");
        }

        if (string.IsNullOrWhiteSpace(PausePath))
        {
            PausePath = Environment.GetEnvironmentVariable("NEFELE_PAUSE") is { Length: > 0 } pause
                ? pause
                : Path.Combine(Path.GetDirectoryName(spawnLibraryPath) ?? "/", "nefele-pause");
        }

        StateDirectory = Path.GetFullPath(StateDirectory);
        PausePath = Path.GetFullPath(PausePath);
    }

    /// <summary>Every bad setting, each naming its key and what is allowed.</summary>
    public IEnumerable<string> Validate(string section)
    {
        if (Linger < TimeSpan.Zero || Linger > TimeSpan.FromHours(1))
        {
            yield return $"{section}:Containers:Linger (--container-linger) {Linger} is out of range; allowed: 0 to 1 h";
        }

        if (StartTimeout < TimeSpan.FromSeconds(1) || StartTimeout > TimeSpan.FromMinutes(10))
        {
            yield return $"{section}:Containers:StartTimeout (--container-start-timeout) {StartTimeout} is out of range; allowed: 1 s to 10 min";
        }

        if (Network is not ("tenant" or "private"))
        {
            yield return $"{section}:Containers:Network (--container-network) '{Network}' is not a network mode; allowed: tenant, private";
        }

        if (Mode is not ("production" or "development"))
        {
            yield return $"{section}:Containers:Mode (--container-mode) '{Mode}' is not a mode; allowed: production, development";
        }
    }
}
