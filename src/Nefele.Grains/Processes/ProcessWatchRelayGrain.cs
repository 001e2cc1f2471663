using Orleans.Concurrency;
using Nefele.Client;

namespace Nefele.Processes;

/// <summary>
/// Passes a program's watch to the process grain from the gateway silo, so that the gateway's
/// runtime fails it the moment the process grain's silo is declared dead (see <see cref="IProcessWatchRelay"/>).
/// Holds nothing; idle activations are collected after two minutes (the shortest Orleans allows is above its one-minute collection quantum).
/// </summary>
[StatelessWorker]
[CollectionAgeLimit(Minutes = 2)]
public sealed class ProcessWatchRelayGrain : Grain, IProcessWatchRelay
{
#if NEFELE_HOP_TIMING
    public async Task<IReadOnlyList<ProcessEvent>?> WatchAsync(string tenant, long afterSeq, TimeSpan maxWait, CancellationToken ct)
    {
        var events = await GrainFactory.Get<IProcessGrain>(this.GetPrimaryKeyString()).WatchAsync(tenant, afterSeq, maxWait);
        if (events is { Count: > 0 } && events[^1].State.IsTerminal())
        {
            Protocol.SpawnTrace.Mark("r.watch_ret", this.GetPrimaryKeyString());
        }

        return events;
    }
#else
    public Task<IReadOnlyList<ProcessEvent>?> WatchAsync(string tenant, long afterSeq, TimeSpan maxWait, CancellationToken ct) =>
        GrainFactory.Get<IProcessGrain>(this.GetPrimaryKeyString()).WatchAsync(tenant, afterSeq, maxWait);
#endif
}
