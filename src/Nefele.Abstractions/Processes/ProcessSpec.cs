namespace Nefele.Client;

/// <summary>What to run and what it needs. Path is absolute, or a name without '/' that the node looks up in the process's PATH (as execvp); Cwd is absolute; Args are argv[1..].</summary>
[GenerateSerializer, Immutable]
public sealed record ProcessSpec
{
    /// <summary>The program: an absolute path, or a name looked up in the process's PATH on the node.</summary>
    [Id(0)] public required string Path { get; init; }
    /// <summary>Its arguments (without argv[0]).</summary>
    [Id(1)] public IReadOnlyList<string> Args { get; init; } = [];
    /// <summary>Its environment variables (<c>NEFELE_*</c> are reserved).</summary>
    [Id(2)] public IReadOnlyDictionary<string, string> Env { get; init; } = new Dictionary<string, string>();
    /// <summary>Its working directory; null: the node's default.</summary>
    [Id(3)] public string? Cwd { get; init; }

    /// <summary>CPU in millicores (1000 = one core); 0 = best effort: no reservation, no limit.</summary>
    [Id(4)] public long CpuMillis { get; init; }

    /// <summary>Memory limit in bytes; 0 = no reservation, no limit.</summary>
    [Id(5)] public long MemoryBytes { get; init; }

    /// <summary>A name for the process (1-64 of A-Za-z0-9._-), usable in affinity selectors; null: none.</summary>
    [Id(6)] public string? Name { get; init; }

    /// <summary>Run without the shim handshake (static binaries): Running as soon as exec succeeds.</summary>
    [Id(7)] public bool NoHandshake { get; init; }

    /// <summary>Devices it needs, by name and count (e.g. gpu = 1); reserved on the node like CPU and memory.</summary>
    [Id(8)] public IReadOnlyDictionary<string, long> Devices { get; init; } = new Dictionary<string, long>();

    /// <summary>
    /// Selectors every chosen node must match: <c>npid:&lt;NPID&gt;</c> (the node running that process),
    /// <c>name:&lt;name&gt;</c> (a node running a process of that name in the tenant), <c>label:&lt;key&gt;=&lt;value&gt;</c>.
    /// </summary>
    [Id(9)] public IReadOnlyList<string> Affinity { get; init; } = [];

    /// <summary>Selectors no chosen node may match (same forms as <see cref="Affinity"/>).</summary>
    [Id(10)] public IReadOnlyList<string> AntiAffinity { get; init; } = [];

    /// <summary>
    /// Resource limits the process starts with, soft = hard, by name: <c>nofile</c> (open files),
    /// <c>nproc</c> (processes of its uid on the node), <c>core</c> (core file bytes). Unset ones
    /// take the node's defaults (hostd <c>--rlimit-*</c>); none goes above hostd's own hard limit.
    /// </summary>
    [Id(11)] public IReadOnlyDictionary<string, long> Rlimits { get; init; } = new Dictionary<string, long>();

    /// <summary>
    /// Most messages the process's mailbox holds; 0 (the default) takes 10,000
    /// (<see cref="Validation.Limits.DefaultMailboxMessages"/>); at most 1,000,000.
    /// </summary>
    [Id(12)] public int MailboxMessages { get; init; }

    /// <summary>
    /// Most bytes of message data the process's mailbox holds; 0 (the default) takes 64 MiB
    /// (<see cref="Validation.Limits.DefaultMailboxBytes"/>); at most 1 GiB.
    /// </summary>
    [Id(13)] public long MailboxBytes { get; init; }

    /// <summary>
    /// The tenant's image to run from, <c>NAME[:TAG]</c> (tag default <c>latest</c>); null: the node's
    /// own filesystem. The silo pins it to the digest the tag points at when it admits the spawn
    /// (<c>NAME:TAG@sha256:…</c>; image_not_found when there is no such image), and the image's
    /// config fills what this spec leaves empty: the program and arguments when
    /// <see cref="Path"/> is empty, the working directory, and environment variables it does not set.
    /// </summary>
    [Id(14)] public string? Image { get; init; }

    /// <summary>
    /// Run on a pseudo-terminal (false, the default: output on a pipe, stdin /dev/null). Its node
    /// keeps the terminal's master: what the process shows goes to its log, and
    /// <c>nef attach</c> types into it and resizes it. Nodes on the systemd engine reject it.
    /// </summary>
    [Id(15)] public bool Tty { get; init; }

    /// <summary>The command line as ps shows it (not part of the JSON contract: the REST API would refuse it as an unknown field).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string CommandLine => Args.Count == 0 ? Path : Path + " " + string.Join(' ', Args);
}
