namespace Nefele.HostAgent.Engines;

/// <summary>
/// Where a process finds hostd's api socket and the shim, as the process sees them: hostd's
/// own paths on the host, fixed paths inside a container (bound there from hostd's).
/// NEFELE_SOCKET and LD_PRELOAD are built from these.
/// </summary>
public sealed record ProcessPaths(string ApiSocket, string Shim)
{
    /// <summary>The api socket inside a container.</summary>
    public const string ContainerApiSocket = "/run/nefele/api.sock";

    /// <summary>The shim inside a container.</summary>
    public const string ContainerShim = "/usr/lib/nefele/libnefele-shim.so";

    /// <summary>The paths inside a tenant container.</summary>
    public static ProcessPaths InContainer { get; } = new(ContainerApiSocket, ContainerShim);

    /// <summary>hostd's paths now (the shim is the copy staged in the run directory once hostd has started).</summary>
    public static ProcessPaths Host(HostAgentOptions options) => new(options.ApiSocketPath, options.ShimPath);

    /// <summary>The paths for a process in <paramref name="container"/> (null: on the host).</summary>
    public static ProcessPaths For(string? container, HostAgentOptions options) => container is null ? Host(options) : InContainer;
}
