using Microsoft.Extensions.Logging;
using Nefele.Client;
using Nefele.Placement;
using Nefele.Processes;
using Nefele.Retention;

namespace Nefele.Tenants;

/// <summary>
/// Retention: the tenant keeps the ids of its ended processes and of its spawn requests with the
/// time each was retained, oldest first. Past the count or the age of <see cref="RetentionOptions"/>
/// each is collected: its grain clears its stored record (memory or Redis) and deactivates, the
/// tenant forgets it and raises its tombstone (<see cref="TenantRecord.CollectedThrough"/>).
/// A timer looks for expired records while there are any; going over the count collects at once.
/// </summary>
public sealed partial class TenantGrain
{
    // Records collected per round: bounds the calls in flight and the size of one write.
    private const int CollectBatch = 512;

    private IGrainTimer? _collector;
    private Task? _collecting;

    private void Retain(RetainedLog kept, string id)
    {
        kept.Append(state.State, new Retained(id, time.GetUtcNow()));
        if (kept.Count > retention.Value.Count)
        {
            _ = CollectAsync();
        }

        StartCollector();
    }

    private void StartCollector()
    {
        var every = retention.Value.CollectInterval;
        _collector ??= this.RegisterGrainTimer(CollectTickAsync, new GrainTimerCreationOptions(every, every) { Interleave = true, KeepAlive = true });
    }

    private async Task CollectTickAsync(CancellationToken cancellationToken)
    {
        await CollectAsync();
        if (_ended.Count == 0 && _requests.Count == 0)
        {
            // Nothing left to expire: the tenant may deactivate when idle; the next retained record restarts the timer.
            _collector?.Dispose();
            _collector = null;
        }
    }

    public Task CollectAsync() => _collecting is { IsCompleted: false } running ? running : _collecting = CollectDueAsync(all: false);

    private async Task CollectAllAsync()
    {
        if (_collecting is { } running)
        {
            await running;
        }

        await (_collecting = CollectDueAsync(all: true));
    }

    public Task<string?> CollectedHintAsync(string npid) =>
        Task.FromResult(IsCollected(npid) ? $"it ended and has been collected ({retention.Value.Describe()})" : null);

    private bool IsCollected(string npid) =>
        state.State.CollectedThrough is { } through && string.CompareOrdinal(npid, through) <= 0 && !_npids.Contains(npid)
        && !_ended.Items.Exists(e => e.Id == npid);

    private async Task CollectDueAsync(bool all)
    {
        while (true)
        {
            var now = time.GetUtcNow();
            var processes = TakeDue(_ended, now, all);
            var requests = TakeDue(_requests, now, all);
            if (processes.Count == 0 && requests.Count == 0)
            {
                return;
            }

            await Task.WhenAll(
                processes.Select(npid => CollectOneAsync("process", npid, () => GrainFactory.Get<IProcessGrain>(npid).CollectAsync()))
                    .Concat(requests.Select(id => CollectOneAsync("request", id,
                        () => GrainFactory.Get<IPlacementRequestGrain>(Validation.GrainKeys.PlacementRequest(Name, id)).CollectAsync()))));
            foreach (var npid in processes)
            {
                if (state.State.CollectedThrough is not { } through || string.CompareOrdinal(npid, through) > 0)
                {
                    state.State.CollectedThrough = npid;
                }
            }

            Telemetry.Collected.Add(processes.Count, new KeyValuePair<string, object?>(Observability.Instruments.Attributes.Record, "process"));
            Telemetry.Collected.Add(requests.Count, new KeyValuePair<string, object?>(Observability.Instruments.Attributes.Record, "request"));
            await PersistAsync();
        }
    }

    /// <summary>Removes from the front of <paramref name="kept"/> what is over the count or older than the age, a batch at most.</summary>
    private List<string> TakeDue(RetainedLog log, DateTimeOffset now, bool all)
    {
        var policy = retention.Value;
        var kept = log.Items;
        var n = 0;
        while (n < kept.Count && n < CollectBatch
            && (all || kept.Count - n > policy.Count || now - kept[n].At >= policy.Age))
        {
            n++;
        }

        return n == 0 ? [] : log.TakeFront(state.State, n);
    }

    private async Task CollectOneAsync(string what, string id, Func<Task> collect)
    {
        try
        {
            await collect();
        }
        catch (Exception e)
        {
            // Its stored record stays behind; nothing else depends on it.
            logger.LogWarning(e, "Could not collect {What} {Id} of tenant {Tenant}", what, id, Name);
        }
    }
}
