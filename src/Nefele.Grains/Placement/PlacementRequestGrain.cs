using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nefele.Errors;
using Nefele.Nodes;
using Nefele.Processes;
using Nefele.Tenants;
using Orleans.Runtime;

namespace Nefele.Placement;

/// <summary>
/// Admits one request: validate → ask a bounded sample of nodes for offers → rank → reserve
/// (with a lease) → create the process records → launch in parallel → answer when every
/// task is Running. Keyed "tenant/request-id"; the answer is kept, so a retry gets it again
/// instead of spawning twice. The grain is not reentrant: a concurrent retry waits for the
/// first attempt and then reads its answer.
/// </summary>
public sealed class PlacementRequestGrain(
    IClusterMembershipService membership,
    NpidGenerator npids,
    IOptions<PlacementOptions> options,
    ILogger<PlacementRequestGrain> logger) : Grain, IPlacementRequestGrain
{
    private SpawnResult? _result;
    private SpawnRequest? _request;

    private string Tenant => this.GetPrimaryKeyString().Split('/', 2)[0];

    public async Task<SpawnResult> SubmitAsync(SpawnRequest request)
    {
        if (_result is not null)
        {
            if (!SameRequest(_request!, request))
            {
                throw new NefeleException(ErrorCodes.RequestConflict, "request id already used for a different request");
            }

            return _result;
        }

        using var activity = Telemetry.Source.StartActivity("nefele.spawn");
        activity?.SetTag("nefele.tenant", Tenant);
        var started = Stopwatch.GetTimestamp();
        SpecValidator.Validate(request, options.Value.MaxTasksPerRequest);
        var tasks = request.Expand();
        var asks = tasks.Select(t => new ResourceAsk(t.CpuMillis, t.MemoryBytes)).ToArray();
        activity?.SetTag("nefele.tasks", tasks.Count);

        List<(string Npid, ProcessSpec Spec, string Node, int Task)> created;
        List<string> rejected;
        try
        {
            (created, rejected) = await PlaceAndReserveAsync(tasks, asks, request.AllowPartial);
        }
        catch (NefeleException)
        {
            Telemetry.Rejections.Add(1);
            throw;
        }

        Telemetry.PlacementDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);

        // The index write and the launches overlap; ps skips an NPID whose record is gone.
        var indexed = GrainFactory.GetGrain<ITenantGrain>(Tenant).AddManyAsync(created.Select(c => c.Npid).ToArray());
        var starts = created.Select(c => GrainFactory.GetGrain<IProcessGrain>(c.Npid).StartAsync(Tenant, c.Spec, request.Parent, c.Node)).ToArray();
        try
        {
            await indexed;
            await Task.WhenAll(starts);
        }
        catch (NefeleException e) when (e.Code == ErrorCodes.SpawnRejected)
        {
            if (!request.AllowPartial || created.Count == 1)
            {
                // All or nothing: what did start is stopped, and the request fails with the first reason.
                await StopStartedAsync(created, starts);
                throw;
            }

            for (var i = 0; i < created.Count; i++)
            {
                if (starts[i].Exception?.InnerException is NefeleException refused)
                {
                    rejected.Add($"task {created[i].Task}: {refused.Message}");
                }
            }
        }

        Telemetry.SpawnDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        _request = request;
        _result = new SpawnResult
        {
            Npids = created.Where((c, i) => starts[i].IsCompletedSuccessfully).Select(c => c.Npid).ToArray(),
            Rejected = rejected,
        };
        logger.LogDebug("Request {Request} admitted {Count} processes", this.GetPrimaryKeyString(), _result.Npids.Count);
        return _result;
    }

    /// <summary>
    /// Places and reserves. A reservation fails only when a concurrent request took the room
    /// between offer and reserve; then the offers are asked again (bounded), so the caller
    /// either gets its room or the real shortfall.
    /// </summary>
    private async Task<(List<(string Npid, ProcessSpec Spec, string Node, int Task)> Created, List<string> Rejected)> PlaceAndReserveAsync(
        IReadOnlyList<ProcessSpec> tasks, ResourceAsk[] asks, bool allowPartial)
    {
        const int attempts = 3;
        for (var attempt = 1; ; attempt++)
        {
            var assignment = await PlaceAsync(asks, allowPartial);
            var created = new List<(string Npid, ProcessSpec Spec, string Node, int Task)>(tasks.Count);
            var rejected = new List<string>();
            for (var i = 0; i < tasks.Count; i++)
            {
                if (assignment[i] is { } node)
                {
                    created.Add((npids.Next(), tasks[i], node, i));
                }
                else
                {
                    rejected.Add($"task {i}: no node had room");
                }
            }

            var byNode = created.GroupBy(c => c.Node).ToArray();
            var reserved = await Task.WhenAll(byNode.Select(g => GrainFactory.GetGrain<INodeGrain>(g.Key)
                .ReserveAsync(g.Select(c => (c.Npid, new ResourceAsk(c.Spec.CpuMillis, c.Spec.MemoryBytes))).ToArray(), options.Value.ReservationLease)));
            if (reserved.All(ok => ok))
            {
                return (created, rejected);
            }

            await Task.WhenAll(created.Select(c => GrainFactory.GetGrain<INodeGrain>(c.Node).ReleaseAsync(c.Npid)));
            if (attempt == attempts)
            {
                throw NefeleException.Rejected("spawn rejected: concurrent requests kept taking the room offered; retry");
            }
        }
    }

    /// <summary>Chooses a node per task (null: none had room), or throws with the shortfall.</summary>
    private async Task<string?[]> PlaceAsync(ResourceAsk[] asks, bool allowPartial)
    {
        var nodes = SampleNodes();
        if (nodes.Count == 0)
        {
            throw new NefeleException(ErrorCodes.NodeUnavailable, "spawn rejected: no node is active in the cluster");
        }

        var offers = await Task.WhenAll(nodes.Select(async n =>
        {
            try
            {
                return await GrainFactory.GetGrain<INodeGrain>(n).OfferAsync(asks);
            }
            catch (Exception e)
            {
                return new NodeOffer { Node = n, Fits = 0, Shortfall = $"node {n} did not answer: {e.Message}" };
            }
        }));

        // Greedy over offers, best score first; each node takes up to what it said fits.
        var ranked = offers.Where(o => o.Fits > 0).OrderByDescending(o => o.Score).ToArray();
        var assignment = new string?[asks.Length];
        var next = 0;
        foreach (var offer in ranked)
        {
            for (var k = 0; k < offer.Fits && next < asks.Length; k++)
            {
                assignment[next++] = offer.Node;
            }
        }

        if (next < asks.Length && !(allowPartial && next > 0))
        {
            var best = offers.OrderByDescending(o => o.Fits).ThenByDescending(o => o.FreeMemoryBytes).First();
            var what = asks.Length == 1 ? "spawn rejected" : $"spawn rejected: {asks.Length} tasks asked, room for {offers.Sum(o => o.Fits)}";
            throw NefeleException.Rejected($"{what}: not enough {best.Shortfall ?? "capacity"}");
        }

        return assignment;
    }

    private List<string> SampleNodes()
    {
        var active = membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active && !string.IsNullOrEmpty(m.Name))
            .Select(m => m.Name)
            .ToList();
        var d = options.Value.SampleSize;
        if (active.Count <= d)
        {
            return active;
        }

        // Power of d choices: the cost of a decision stays bounded as the cluster grows.
        return active.OrderBy(_ => Random.Shared.Next()).Take(d).ToList();
    }

    private async Task StopStartedAsync(List<(string Npid, ProcessSpec Spec, string Node, int Task)> created, Task<ProcessInfo>[] starts)
    {
        for (var i = 0; i < created.Count; i++)
        {
            try
            {
                await starts[i];
            }
            catch (NefeleException)
            {
                continue;
            }

            if (starts[i].Result.State == ProcessState.Running)
            {
                try
                {
                    await GrainFactory.GetGrain<IProcessGrain>(created[i].Npid).SignalAsync(Tenant, Signals.SigKill);
                }
                catch (NefeleException)
                {
                    // It ended on its own meanwhile.
                }
            }
        }
    }

    private static bool SameRequest(SpawnRequest a, SpawnRequest b) =>
        a.Count == b.Count && a.AllowPartial == b.AllowPartial && a.Parent == b.Parent && a.Tasks.Count == b.Tasks.Count
        && a.Tasks.Zip(b.Tasks).All(p => SameSpec(p.First, p.Second));

    private static bool SameSpec(ProcessSpec a, ProcessSpec b) =>
        a.Path == b.Path && a.Args.SequenceEqual(b.Args) && a.Cwd == b.Cwd && a.CpuMillis == b.CpuMillis
        && a.MemoryBytes == b.MemoryBytes && a.Name == b.Name && a.NoHandshake == b.NoHandshake
        && a.Env.Count == b.Env.Count && a.Env.All(kv => b.Env.TryGetValue(kv.Key, out var v) && v == kv.Value);
}
