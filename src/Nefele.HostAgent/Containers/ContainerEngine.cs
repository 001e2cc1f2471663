using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Nefele.HostAgent.Engines;

namespace Nefele.HostAgent.Containers;

/// <summary>
/// The engine hostd holds when tenant containers are on: a launch whose
/// <see cref="LaunchSpec.Container"/> is set runs in that container, started on demand by the
/// <see cref="ContainerManager"/>; every other launch goes to the node engine unchanged.
/// </summary>
/// <remarks>
/// Inside a container the node engine itself starts the process, entering the container's
/// namespaces (libnefele-spawn: created in its pid namespace, so the process stays hostd's
/// child and its pid is the host's, which the api socket's SO_PEERCRED reports): exit status,
/// output, signals, limits and usage work as on the host, and the ids are the node engine's.
/// This holds for images with systemd too (their systemd is pid 1 and the process joins its
/// namespaces beside it). Each process holds its container until it has exited; the last
/// exit starts the container's linger.
/// </remarks>
public sealed class ContainerEngine : IProcessEngine, IProcessOwnership
{
    private const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    private readonly IProcessEngine node;
    private readonly ContainerManager containers;

    // Which container each running process holds, until its exit.
    private readonly ConcurrentDictionary<LocalProcessId, string> holding = new();

    public ContainerEngine(IProcessEngine node, ContainerManager containers)
    {
        this.node = node;
        this.containers = containers;
    }

    public EngineCapabilities Capabilities => node.Capabilities;

    public ContainerManager Containers => containers;

    public async Task<StartedProcess> StartAsync(LaunchSpec spec, CancellationToken ct)
    {
        if (spec.Container is not { } name)
        {
            return await node.StartAsync(spec, ct).ConfigureAwait(false);
        }

        if (spec.ImageRoot is not { } imageRoot)
        {
            throw new SpawnRejectedException($"spawn rejected: {spec.Npid} names container {name} but no image to run it from");
        }

        var container = await containers.AcquireAsync(name, spec.Tenant, imageRoot, spec.Identity.Uid, spec.Identity.Gid, ct).ConfigureAwait(false);
        try
        {
            // The container's root is the image already: the engine enters it, it does not chroot.
            var inside = spec with { Path = ResolveInside(container, spec), ImageRoot = null };
            inside = inside with { Namespaces = container.Namespaces };
            var started = await node.StartAsync(inside, ct).ConfigureAwait(false);
            holding[started.Id] = name;
            return started;
        }
        catch
        {
            containers.Release(name);
            throw;
        }
    }

    public Task<bool> SignalAsync(LocalProcessId id, int signal, SignalTarget target, CancellationToken ct) =>
        node.SignalAsync(id, signal, target, ct);

    public async IAsyncEnumerable<ProcessExit> ExitsAsync([EnumeratorCancellation] CancellationToken ct)
    {
        await foreach (var exit in node.ExitsAsync(ct).ConfigureAwait(false))
        {
            if (holding.TryRemove(exit.Id, out var name))
            {
                containers.Release(name);
            }

            yield return exit;
        }
    }

    /// <summary>Containers an earlier hostd left are stopped (their processes cannot be reaped), then the node engine recovers.</summary>
    public async Task<IReadOnlyList<RecoveredProcess>> RecoverAsync(CancellationToken ct)
    {
        containers.StopLeftovers();
        return await node.RecoverAsync(ct).ConfigureAwait(false);
    }

    public ValueTask ReleaseAsync(LocalProcessId id) => node.ReleaseAsync(id);

    public ProcessUsageSample? Usage(LocalProcessId id) => node.Usage(id);

    public LocalProcessId? OwnerOf(int hostPid) => (node as IProcessOwnership)?.OwnerOf(hostPid);

    public async ValueTask DisposeAsync()
    {
        await node.DisposeAsync().ConfigureAwait(false);
        await containers.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// The program's path inside the container: a name without '/' is looked up in the
    /// process's PATH there (as execvp would), so the container's programs are found, not the host's.
    /// </summary>
    private static string ResolveInside(TenantContainer container, LaunchSpec spec)
    {
        if (spec.Path.Contains('/', StringComparison.Ordinal))
        {
            return spec.Path;
        }

        var path = spec.Environment.TryGetValue("PATH", out var p) && p.Length > 0 ? p : DefaultPath;
        foreach (var dir in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            if (dir[0] != '/')
            {
                continue;
            }

            var candidate = dir.TrimEnd('/') + "/" + spec.Path;
            if (File.Exists(container.RootPath + candidate))
            {
                return candidate;
            }
        }

        throw new SpawnRejectedException(Nefele.Client.ErrorCodes.ProgramNotFound,
            $"spawn rejected: {spec.Path}: no such program in PATH ({path}) in container {container.Name}");
    }
}
