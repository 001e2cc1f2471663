using Nefele.Auth;
using Nefele.Client;
using Orleans.Concurrency;

namespace Nefele.Supervision;

/// <summary>
/// A durable supervisor, keyed "tenant/name": its state is persisted after every change, so when the
/// silo holding it dies, it activates on another silo from that state and carries on supervising.
/// Its children are spawned in its tenant, under the tenant's quotas.
/// </summary>
public interface ISupervisorGrain : IGrainWithStringKey
{
    /// <summary>
    /// Starts the supervisor: every child in order, answering once all run. supervisor_exists when one
    /// of that name runs with another spec (the same spec answers its status: a retry); failed_to_start
    /// when a child could not start (the others were stopped and nothing is kept).
    /// </summary>
    [Access(Role.Member, TenantFrom.GrainKeyPrefix)]
    Task<SupervisorStatus> CreateAsync(SupervisorSpec spec, CancellationToken ct = default);

    /// <summary>Its status; supervisor_not_found when there is none.</summary>
    [Access(Role.Viewer, TenantFrom.GrainKeyPrefix)]
    Task<SupervisorStatus> GetAsync(CancellationToken ct = default);

    /// <summary>
    /// Its status once its version is past <paramref name="afterVersion"/> (or it has ended), waiting up to
    /// <paramref name="maxWait"/>; supervisor_not_found when there is none.
    /// </summary>
    [AlwaysInterleave, Access(Role.Viewer, TenantFrom.GrainKeyPrefix)]
    Task<SupervisorStatus> WatchAsync(long afterVersion, TimeSpan maxWait, CancellationToken ct = default);

    /// <summary>Resizes a simple_one_for_one pool (bad_request for another strategy).</summary>
    [Access(Role.Member, TenantFrom.GrainKeyPrefix)]
    Task<SupervisorStatus> ResizeAsync(int size, CancellationToken ct = default);

    /// <summary>Stops every child in reverse order, each with its shutdown, and forgets the supervisor; false when there was none.</summary>
    [Access(Role.Member, TenantFrom.GrainKeyPrefix)]
    Task<bool> DeleteAsync(CancellationToken ct = default);

    /// <summary>Activates it (from its stored state) so that it supervises; the keeper calls it after a silo is lost.</summary>
    Task PingAsync();
}
