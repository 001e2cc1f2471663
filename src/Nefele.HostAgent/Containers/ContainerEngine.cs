using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Nefele.HostAgent.Engines;
using Nefele.HostAgent.Engines.Systemd;

namespace Nefele.HostAgent.Containers;

/// <summary>
/// The engine hostd holds when tenant containers are on: a launch whose
/// <see cref="LaunchSpec.Container"/> is set runs in that container, started on demand by the
/// <see cref="ContainerManager"/>; every other launch goes to the node engine unchanged.
/// </summary>
/// <remarks>
/// <para>
/// In a container without systemd (nefele-pause is its pid 1) the node engine itself starts the
/// process, entering the container's namespaces (libnefele-spawn: created in its pid namespace,
/// so the process stays hostd's child and its pid is the host's, which the api socket's
/// SO_PEERCRED reports): exit status, output, signals, limits and usage work as on the host, and
/// the ids are the node engine's.
/// </para>
/// <para>
/// In a booted container (the image's systemd is pid 1) a process is a transient unit of that
/// systemd, started over its private bus by a <see cref="SystemdEngine"/> made for the container
/// when it is up and disposed when it stops. Its ids are <c>&lt;container&gt;/&lt;unit&gt;</c>, so
/// signals, usage, release and ownership go to the engine that owns the process; the supervisor
/// never looks inside them. A container that ends under its processes (stopped, or crashed)
/// reports each of them as killed (SIGKILL), once.
/// </para>
/// <para>
/// Exits of every engine come out of one stream. Each process holds its container until it has
/// exited; the last exit starts the container's linger.
/// </para>
/// </remarks>
public sealed class ContainerEngine : IProcessEngine, IProcessOwnership
{
    private const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    private const char Separator = '/';
    private const int SigKill = 9;

    // A booted container is up once its bus socket exists; the bus daemon behind it starts on the
    // first connection, which is tried again for this long (every ConnectRetry) before a start fails.
    private static readonly TimeSpan ConnectWithin = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ConnectRetry = TimeSpan.FromMilliseconds(20);
    private readonly IProcessEngine node;
    private readonly ContainerManager containers;
    private readonly string nodeName;
    private readonly ILoggerFactory loggers;
    private readonly Channel<ProcessExit> exits = Channel.CreateUnbounded<ProcessExit>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
    private readonly CancellationTokenSource closing = new();
    private readonly Lock gate = new();

    // The engine of each running booted container, by container name.
    private readonly Dictionary<string, Booted> booted = new(StringComparer.Ordinal);

    // Which container each running process holds, until its exit.
    private readonly ConcurrentDictionary<LocalProcessId, string> holding = new();

    // Exits of booted-container processes seen before their start returned (guarded by gate).
    private readonly HashSet<LocalProcessId> exitedEarly = [];
    private Task? nodePump;
    private int disposed;

    public ContainerEngine(IProcessEngine node, ContainerManager containers)
        : this(node, containers, "", NullLoggerFactory.Instance)
    {
    }

    /// <param name="nodeName">The node's name, recorded in the units of booted containers.</param>
    public ContainerEngine(IProcessEngine node, ContainerManager containers, string nodeName, ILoggerFactory loggers)
    {
        this.node = node;
        this.containers = containers;
        this.nodeName = nodeName;
        this.loggers = loggers;
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
            if (container.Boots)
            {
                return await StartBootedAsync(container, inside, ct).ConfigureAwait(false);
            }

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
        Route(id, out var unit) switch
        {
            null => node.SignalAsync(id, signal, target, ct),
            { } b => b.Engine?.SignalAsync(unit, signal, target, ct) ?? Task.FromResult(false),
        };

    public async IAsyncEnumerable<ProcessExit> ExitsAsync([EnumeratorCancellation] CancellationToken ct)
    {
        lock (gate)
        {
            nodePump ??= PumpAsync(node, null, closing.Token);
        }

        await foreach (var exit in exits.Reader.ReadAllAsync(ct).ConfigureAwait(false))
        {
            yield return exit;
        }
    }

    /// <summary>Containers an earlier hostd left are stopped (their processes cannot be reaped), then the node engine recovers.</summary>
    public async Task<IReadOnlyList<RecoveredProcess>> RecoverAsync(CancellationToken ct)
    {
        containers.StopLeftovers();
        return await node.RecoverAsync(ct).ConfigureAwait(false);
    }

    public ValueTask ReleaseAsync(LocalProcessId id) =>
        Route(id, out var unit) switch
        {
            null => node.ReleaseAsync(id),
            { } b => b.Engine?.ReleaseAsync(unit) ?? ValueTask.CompletedTask,
        };

    public ProcessUsageSample? Usage(LocalProcessId id) =>
        Route(id, out var unit) switch
        {
            null => node.Usage(id),
            { } b => b.Engine?.Usage(unit),
        };

    public LocalProcessId? OwnerOf(int hostPid)
    {
        if ((node as IProcessOwnership)?.OwnerOf(hostPid) is { } owner)
        {
            return owner;
        }

        Booted[] all;
        lock (gate)
        {
            all = [.. booted.Values];
        }

        foreach (var b in all)
        {
            if (b.Engine.OwnerOf(hostPid) is { } unit)
            {
                return Outer(b.Container.Name, unit);
            }
        }

        return null;
    }

    public async Task<int> SignalReleasedAsync(int signal, CancellationToken ct)
    {
        Booted[] all;
        lock (gate)
        {
            all = [.. booted.Values];
        }

        var counts = await Task.WhenAll(all.Select(b => ((IProcessEngine)b.Engine).SignalReleasedAsync(signal, ct)).Append(node.SignalReleasedAsync(signal, ct))).ConfigureAwait(false);
        return counts.Sum();
    }

    public async ValueTask DisposeAsync()
    {
        // hostd's orderly stop disposes the engine, and the service container again.
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }

        await closing.CancelAsync().ConfigureAwait(false);
        await node.DisposeAsync().ConfigureAwait(false);
        await containers.DisposeAsync().ConfigureAwait(false);
        Booted[] all;
        lock (gate)
        {
            all = [.. booted.Values];
        }

        // Stopping the containers ended their engines' watches; whatever is left is closed here.
        foreach (var b in all)
        {
            await EndAsync(b).ConfigureAwait(false);
        }

        exits.Writer.TryComplete();
        closing.Dispose();
    }

    /// <summary>A process as a transient unit of the container's systemd, over the container's own engine.</summary>
    private async Task<StartedProcess> StartBootedAsync(TenantContainer container, LaunchSpec spec, CancellationToken ct)
    {
        var b = EngineOf(container);
        await b.Engine.ConnectWithinAsync(ConnectWithin, ConnectRetry, ct).ConfigureAwait(false);
        var started = await b.Engine.StartAsync(spec, ct).ConfigureAwait(false);
        var id = Outer(container.Name, started.Id);
        bool early;
        lock (gate)
        {
            early = exitedEarly.Remove(id);
            if (!early)
            {
                holding[id] = container.Name;
            }
        }

        if (early)
        {
            containers.Release(container.Name);
        }

        return started with { Id = id };
    }

    /// <summary>The container's engine, made the first time a process starts in it (one per container run).</summary>
    private Booted EngineOf(TenantContainer container)
    {
        Booted? stale = null;
        Booted b;
        lock (gate)
        {
            if (booted.TryGetValue(container.Name, out var known) && ReferenceEquals(known.Container, container))
            {
                return known;
            }

            // An engine of an earlier run of this container that is not gone yet: ended below.
            stale = known;
            var engine = new SystemdEngine(container.BusAddress!, nodeName, loggers.CreateLogger<SystemdEngine>(), container.RootPath, early: true);
            b = new Booted(container, engine);
            booted[container.Name] = b;
            b.Pump = PumpAsync(engine, container.Name, CancellationToken.None);
        }

        if (stale is not null)
        {
            _ = EndAsync(stale);
        }

        _ = WatchAsync(b);
        return b;
    }

    /// <summary>Moves one engine's exits into the merged stream, each released from its container first.</summary>
    private async Task PumpAsync(IProcessEngine engine, string? container, CancellationToken ct)
    {
        try
        {
            await foreach (var exit in engine.ExitsAsync(ct).ConfigureAwait(false))
            {
                var e = container is null ? exit : exit with { Id = Outer(container, exit.Id) };
                Exited(e, container is not null);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Exited(ProcessExit exit, bool booted)
    {
        string? name;
        lock (gate)
        {
            if (!holding.TryRemove(exit.Id, out name) && booted)
            {
                // Its start has not returned yet: it releases the container itself.
                exitedEarly.Add(exit.Id);
            }
        }

        if (name is not null)
        {
            containers.Release(name);
        }

        exits.Writer.TryWrite(exit);
    }

    /// <summary>When the container's nspawn exits (stopped, or crashed), its engine goes, and its processes not yet reported are reported killed.</summary>
    private async Task WatchAsync(Booted b)
    {
        await b.Container.Exited.ConfigureAwait(false);
        await EndAsync(b).ConfigureAwait(false);
    }

    private async Task EndAsync(Booted b)
    {
        lock (gate)
        {
            if (b.Ended)
            {
                return;
            }

            b.Ended = true;
            if (booted.TryGetValue(b.Container.Name, out var current) && ReferenceEquals(current, b))
            {
                booted.Remove(b.Container.Name);
            }
        }

        // Disposing completes its exit stream: what it saw is reported before the rest are declared killed.
        await b.Engine.DisposeAsync().ConfigureAwait(false);
        await b.Pump.ConfigureAwait(false);
        var prefix = b.Container.Name + Separator;
        var lost = holding.Keys.Where(id => id.Value.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        foreach (var id in lost)
        {
            Exited(new ProcessExit(id, -1, SigKill, false, false, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()), booted: true);
        }

        lock (gate)
        {
            exitedEarly.RemoveWhere(id => id.Value.StartsWith(prefix, StringComparison.Ordinal));
        }

        if (lost.Count > 0)
        {
            loggers.CreateLogger<ContainerEngine>().LogWarning(
                "Container {Name} ended under {Count} running processes: reported killed", b.Container.Name, lost.Count);
        }
    }

    /// <summary>
    /// Where an id goes: null for the node engine's ids; else the booted container's engine (its
    /// <see cref="Owner.Engine"/> null once the container is gone) and, in <paramref name="unit"/>, the unit.
    /// </summary>
    private Owner? Route(LocalProcessId id, out LocalProcessId unit)
    {
        var slash = id.Value.IndexOf(Separator, StringComparison.Ordinal);
        unit = slash < 0 ? id : new LocalProcessId(id.Value[(slash + 1)..]);
        if (slash < 0)
        {
            return null;
        }

        lock (gate)
        {
            return new Owner(booted.TryGetValue(id.Value[..slash], out var b) ? b.Engine : null);
        }
    }

    private static LocalProcessId Outer(string container, LocalProcessId unit) => new(container + Separator + unit.Value);

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

    private sealed record Owner(SystemdEngine? Engine);

    /// <summary>A booted container's engine, for one run of the container.</summary>
    private sealed class Booted(TenantContainer container, SystemdEngine engine)
    {
        public TenantContainer Container { get; } = container;

        public SystemdEngine Engine { get; } = engine;

        /// <summary>Its exits into the merged stream; ends when the engine is disposed.</summary>
        public Task Pump { get; set; } = Task.CompletedTask;

        /// <summary>Its engine is closed, or closing (guarded by the engine's lock).</summary>
        public bool Ended { get; set; }
    }
}
