using Nefele.Auth;
using Orleans.Concurrency;
using Nefele.Client;

namespace Nefele.Processes;

/// <summary>
/// One user process, keyed by NPID: its spec, state machine, node, POSIX pid, exit status
/// and monitors. Every call names the caller's tenant; a call from another tenant is
/// answered exactly as if the NPID did not exist.
/// </summary>
public interface IProcessGrain : IGrainWithStringKey
{
    /// <summary>
    /// Creates the record and runs it on <paramref name="node"/>: Pending → Placed → Starting →
    /// Running (returns the Running info) or FailedToStart (returns that). Each transition is
    /// published. When exec itself fails (no such file, not executable) the record is deleted
    /// and a spawn_rejected error is thrown: nothing was started, so nothing is left behind.
    /// Called once per NPID by the placement request that reserved room on the node.
    /// </summary>
    Task<ProcessInfo> StartAsync(string tenant, ProcessSpec spec, string? parent, string node, Tenants.RunAs runAs);

    /// <summary>Removes a record that never started (a rejected or released request).</summary>
    Task DiscardAsync();

    [Access(Role.Viewer, TenantFrom.ArgumentHidingNpid)]
    Task<ProcessInfo?> GetAsync(string tenant, CancellationToken ct = default);

    /// <summary>The spec it runs (its image pinned to a digest) and its node; null when no such process or not placed yet.</summary>
    [Access(Role.Viewer, TenantFrom.ArgumentHidingNpid)]
    Task<ProcessPlacement?> GetPlacementAsync(string tenant, CancellationToken ct = default);

    /// <summary>
    /// The transitions after <paramref name="afterSeq"/>, waiting up to <paramref name="maxWait"/>
    /// for one if there is none yet. An empty list means no news; null means no such process.
    /// </summary>
    [AlwaysInterleave, Access(Role.Viewer, TenantFrom.ArgumentHidingNpid)]
    Task<IReadOnlyList<ProcessEvent>?> WatchAsync(string tenant, long afterSeq, TimeSpan maxWait);

    [Access(Role.Member, TenantFrom.ArgumentHidingNpid)]
    Task SignalAsync(string tenant, int signal, CancellationToken ct = default);

    /// <summary>
    /// Types <paramref name="data"/> into the process's terminal (spawn --tty) and, when
    /// <paramref name="rows"/> and <paramref name="columns"/> are non-zero, first sets its window size
    /// (the process's foreground group gets SIGWINCH). bad_request when it has no terminal or the
    /// input is out of bounds (<see cref="Validation.Limits.MaxTerminalInputBytes"/>,
    /// <see cref="Validation.Limits.MaxTerminalSize"/>); not_running once it ended.
    /// </summary>
    [Access(Role.Member, TenantFrom.ArgumentHidingNpid)]
    Task TerminalInputAsync(string tenant, byte[] data, int rows, int columns, CancellationToken ct = default);

    /// <summary>
    /// Captured output from <paramref name="offset"/> (read from the node that ran it), waiting up to
    /// <paramref name="wait"/> for more when there is none yet. Null means no such process.
    /// </summary>
    [AlwaysInterleave, Access(Role.Viewer, TenantFrom.ArgumentHidingNpid)]
    Task<LogChunk?> ReadLogsAsync(string tenant, long offset, int maxBytes, TimeSpan wait, LogStream stream = LogStream.All, CancellationToken ct = default);

    /// <summary>
    /// As <see cref="ReadLogsAsync"/>, as records (stream, time, offset, bytes; the process's NPID,
    /// name and node on each), with the read's time window applied on the node. Null means no such process.
    /// </summary>
    [AlwaysInterleave, Access(Role.Viewer, TenantFrom.ArgumentHidingNpid)]
    Task<LogRecordChunk?> ReadLogRecordsAsync(string tenant, LogRecordRead read, CancellationToken ct = default);

    /// <summary>From the node: the process ended.</summary>
    Task OnExitedAsync(ProcessEnd end);

    /// <summary>
    /// From the node after its silo (re)attached: hostd runs this process. Rebuilds a record the
    /// control plane lost. Returns false when the record says the process already ended (it was
    /// declared Lost while its node was cut off): the node must then kill it, so no ghost of an
    /// ended NPID keeps running.
    /// </summary>
    Task<bool> AdoptAsync(string tenant, string node, ProcessSpec spec, int pid, DateTimeOffset startedAt);

    /// <summary>The node that ran it is gone.</summary>
    Task MarkLostAsync(string reason);

    /// <summary>
    /// From the tenant's name service, before it lets this process hold a name or topic: the node
    /// it runs on, once it is a live process of <paramref name="tenant"/> (npid_not_found, or
    /// not_running once it has ended). From then on its end tells the name service.
    /// </summary>
    Task<string> HoldNamesAsync(string tenant);

    /// <summary>Past retention: removes the record of an ended process from storage and deactivates (a live one stays).</summary>
    Task CollectAsync();
}
