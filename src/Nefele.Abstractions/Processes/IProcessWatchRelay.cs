using Nefele.Auth;
using Orleans.Concurrency;
using Nefele.Client;

namespace Nefele.Processes;

/// <summary>
/// A process's watch, asked through the silo that took the call (a stateless worker keyed by NPID,
/// activated on the program's gateway). A program's call to a grain on a silo that dies unseen (a
/// killed or cut-off node) waits for an answer that never comes; a silo's own call is failed as
/// soon as the cluster declares that silo dead, so a monitor asking through its gateway hears at
/// once and asks again, reaching the process grain's new activation, which finds its node lost.
/// </summary>
public interface IProcessWatchRelay : IGrainWithStringKey
{
    /// <summary>As <see cref="IProcessGrain.WatchAsync"/> of the process whose NPID is this grain's key.</summary>
    [AlwaysInterleave, Access(Role.Viewer, TenantFrom.ArgumentHidingNpid)]
    Task<IReadOnlyList<ProcessEvent>?> WatchAsync(string tenant, long afterSeq, TimeSpan maxWait, CancellationToken ct = default);
}
