using Nefele.HostAgent.Cgroups;

namespace Nefele.HostAgent.Engines;

/// <summary>Everything an engine needs to start one process; env is final (hostd's variables added).</summary>
/// <param name="Arguments">argv[1..]; argv[0] is <paramref name="Path"/>.</param>
/// <param name="Paths">The api socket and shim as the process sees them (NEFELE_SOCKET and LD_PRELOAD in the env name these).</param>
/// <param name="Container">The tenant container it runs in; null on the host.</param>
/// <param name="ImageRoot">The unpacked root filesystem of the image it runs from; null for none.</param>
public sealed record LaunchSpec(
    string Npid,
    string Tenant,
    string Path,
    IReadOnlyList<string> Arguments,
    IReadOnlyDictionary<string, string> Environment,
    string WorkingDirectory,
    CgroupLimits Limits,
    ProcessIdentity Identity,
    ProcessPaths Paths,
    string? Container = null,
    string? ImageRoot = null)
{
    /// <summary>
    /// The namespaces of <see cref="Container"/> that the native engine enters to start the
    /// process inside (set by the container engine once the container runs); null on the host.
    /// </summary>
    public Containers.ContainerNamespaces? Namespaces { get; init; }

    /// <summary>Run on a pseudo-terminal (spawn --tty): its slave is the process's stdin, stdout, stderr and controlling terminal.</summary>
    public bool Tty { get; init; }
}
