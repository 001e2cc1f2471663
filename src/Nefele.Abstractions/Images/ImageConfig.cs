namespace Nefele.Client;

/// <summary>
/// What an image says about running it (a small subset of an OCI image config). A spawn from the
/// image takes what its spec leaves empty from here: the program and arguments, the working
/// directory, the environment variables it does not set itself.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ImageConfig
{
    /// <summary>The default command: the program (absolute, or a name looked up in PATH inside the image) and its arguments.</summary>
    [Id(0)] public IReadOnlyList<string> Cmd { get; init; } = [];

    /// <summary>Environment variables every process of the image starts with (its spec's own win).</summary>
    [Id(1)] public IReadOnlyDictionary<string, string> Env { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// The user the image expects (<c>root</c>, a name or a uid); null: the tenant's. On the host a
    /// process always runs as its tenant's uid; a tenant container maps this user onto the tenant.
    /// </summary>
    [Id(2)] public string? User { get; init; }

    /// <summary>The working directory inside the image; null: <c>/</c>.</summary>
    [Id(3)] public string? WorkingDir { get; init; }

    /// <summary>The image boots systemd (<c>/sbin/init</c>): a tenant container runs it as its init.</summary>
    [Id(4)] public bool Systemd { get; init; }
}
