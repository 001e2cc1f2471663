using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nefele.Client;
using Nefele.Errors;
using Nefele.Nodes;
using Nefele.Processes;
using Nefele.Tenants;
using Nefele.Tracing;
using Nefele.Validation;
using Orleans.Placement;
using Orleans.Runtime;

namespace Nefele.Placement;

/// <summary>
/// Admits one request: validate → sample candidate nodes that match the constraints from the
/// node directory (real and hollow nodes) → ask them for offers → rank → reserve
/// (with a lease) → store what was admitted → launch in parallel → answer when every task is
/// Running. Keyed "tenant/request-id": a retry gets the same answer instead of spawning twice —
/// from memory, or, when the first silo died mid-request, by finishing the stored admission.
/// The grain is not reentrant: a concurrent retry waits for the first attempt.
/// </summary>
[PreferLocalPlacement] // the node whose gateway took the request admits it: every node admits
public sealed partial class PlacementRequestGrain(
    [PersistentState("placement", StorageNames.Default)] IPersistentState<PlacementRecord> state,
    IClusterMembershipService membership,
    NodeDirectoryCache directory,
    NpidGenerator npids,
    Images.ImageStore images,
    IOptions<PlacementOptions> options,
    ILogger<PlacementRequestGrain> logger) : Grain, IPlacementRequestGrain
{
    private SpawnResult? _result;

    // A key of any other shape (a tenant name with '/' in it, say) is refused, not split elsewhere.
    private (string Tenant, string RequestId)? _key;

    private (string Tenant, string RequestId) Key => _key ??= GrainKeys.ParsePlacementRequest(this.GetPrimaryKeyString());

    private string Tenant => Key.Tenant;

    private string RequestId => Key.RequestId;

    public async Task<SpawnResult> SubmitAsync(SpawnRequest request, CancellationToken ct)
    {
        _ = Key;
        if (state.State.Request is { } earlier)
        {
            if (!SameRequest(earlier, request))
            {
                throw new NefeleException(ErrorCodes.RequestConflict, "request id already used for a different request");
            }

            if (_result is not null)
            {
                return _result;
            }

            // Admitted by an activation that died before answering (or was deactivated since): finish that admission.
            var runAsThen = state.State.RunAs ?? Tenants.RunAs.Of(await GrainFactory.Get<ITenantGrain>(Tenant).GetInfoAsync(ct));
            var expanded = Images.ImageSpecs.Resolve(images, Tenant, runAsThen.DefaultImage is { } defaultThen
                ? [.. earlier.Expand().Select(t => t.Image is null ? t with { Image = defaultThen } : t)]
                : earlier.Expand());
            var collected = await CollectedOfAsync(state.State.Admitted.Select(a => a.Npid));
            var resumed = state.State.Admitted.Where(a => !collected.Contains(a.Npid)).Select(a => (a.Npid, expanded[a.Task], a.Node, a.Task)).ToList();
            var finished = await FinishAsync(earlier, resumed, [.. state.State.Rejected], runAsThen, Stopwatch.GetTimestamp());
            if (collected.Count > 0)
            {
                _result = new SpawnResult
                {
                    Npids = state.State.Admitted.Select(a => a.Npid).Where(n => collected.Contains(n) || finished.Npids.Contains(n)).ToArray(),
                    Rejected = finished.Rejected,
                };
            }

            return _result!;
        }

        using var activity = Telemetry.Source.StartActivity("nefele.spawn");
        activity?.SetTag(SpanAttributes.Tenant, Tenant);
        try
        {
            var admitted = await AdmitAsync(request, activity);
            if (admitted.Npids.Count == 1)
            {
                activity?.SetTag(SpanAttributes.Npid, admitted.Npids[0]);
            }

            if (admitted.FailedToStart.Count > 0)
            {
                activity?.SetStatus(ActivityStatusCode.Error, $"{admitted.FailedToStart.Count} failed to start");
            }

            return admitted;
        }
        catch (Exception e) when (Telemetry.Failed(activity, e))
        {
            throw;
        }
    }

    /// <summary>Admits, places, records and launches a request seen for the first time.</summary>
    private async Task<SpawnResult> AdmitAsync(SpawnRequest request, Activity? activity)
    {
        var started = Stopwatch.GetTimestamp();
        SpecValidator.Validate(request, options.Value.MaxTasksPerRequest);
        var tasks = Images.ImageSpecs.Resolve(images, Tenant, request.Expand());
        activity?.SetTag(SpanAttributes.Tasks, tasks.Count);

        // The tenant must exist and the request fit its quotas before anything is placed.
        var tenant = GrainFactory.Get<ITenantGrain>(Tenant);
        Tenants.RunAs runAs;
        try
        {
            runAs = await tenant.AdmitAsync(RequestId, tasks);
        }
        catch (NefeleException e)
        {
            Telemetry.Rejections.Add(1, new KeyValuePair<string, object?>(Observability.Instruments.Attributes.Reason, e.Code));
            throw;
        }

        Telemetry.Admissions.Add(1);
        if (runAs.DefaultImage is { } defaultImage && tasks.Any(t => t.Image is null))
        {
            try
            {
                tasks = Images.ImageSpecs.Resolve(images, Tenant, [.. tasks.Select(t => t.Image is null ? t with { Image = defaultImage } : t)]);
            }
            catch
            {
                await tenant.ReleaseAdmissionAsync(RequestId);
                throw;
            }
        }

        SpawnHops.Record("1 placement.admit", started);
        List<(string Npid, ProcessSpec Spec, string Node, int Task)> created;
        List<string> rejected;
        try
        {
            (created, rejected) = await PlaceAndReserveAsync(tasks, request.AllowPartial, request.Spread);
        }
        catch (Exception e)
        {
            await tenant.ReleaseAdmissionAsync(RequestId);
            if (e is NefeleException refused)
            {
                Telemetry.Rejections.Add(1, new KeyValuePair<string, object?>(Observability.Instruments.Attributes.Reason, refused.Code));
            }

            throw;
        }

        Telemetry.PlacementDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        var writing = Stopwatch.GetTimestamp();
        state.State = new PlacementRecord
        {
            Request = request,
            Admitted = created.Select(c => new AdmittedTask(c.Npid, c.Node, c.Task)).ToList(),
            Rejected = rejected,
            RunAs = runAs,
        };
        await state.WriteStateAsync(CancellationToken.None); // once begun, finished: a caller giving up does not undo it
        SpawnHops.Record("4 placement.record_write", writing);
        var result = await FinishAsync(request, created, rejected, runAs, started);
        SpawnHops.Record("0 placement.submit", started);
        SpawnHops.Finished();
        return result;
    }

    /// <summary>Indexes and launches the admitted tasks and keeps the answer.</summary>
    private async Task<SpawnResult> FinishAsync(
        SpawnRequest request, List<(string Npid, ProcessSpec Spec, string Node, int Task)> created, List<string> rejected, RunAs runAs, long started)
    {
        // The index write and the launches overlap; ps skips an NPID whose record is gone.
        var launching = Stopwatch.GetTimestamp();
        var indexed = GrainFactory.Get<ITenantGrain>(Tenant).AddManyAsync(RequestId, created.Select(c => (c.Npid, c.Spec.CpuMillis, c.Spec.MemoryBytes)).ToArray());
        var starts = created.Select(c => GrainFactory.Get<IProcessGrain>(c.Npid).StartAsync(Tenant, c.Spec, request.Parent, c.Node, runAs)).ToArray();
        try
        {
            await indexed;
            SpawnHops.Record("6 tenant.index", launching);
            await Task.WhenAll(starts);
            SpawnHops.Record("5 placement.start_all", launching);
        }
        catch (NefeleException e) when (ErrorCodes.IsSpawnRefusal(e.Code))
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
        _result = new SpawnResult
        {
            Npids = created.Where((c, i) => starts[i].IsCompletedSuccessfully).Select(c => c.Npid).ToArray(),
            Rejected = rejected,
            FailedToStart = starts.Where(s => s.IsCompletedSuccessfully && s.Result.State == ProcessState.FailedToStart)
                .ToDictionary(s => s.Result.Npid, s => s.Result.End?.Reason ?? "no reason recorded"),
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
        IReadOnlyList<ProcessSpec> tasks, bool allowPartial, bool spread)
    {
        const int attempts = 3;
        var placing = Stopwatch.GetTimestamp();
        var resolved = await ResolveAsync(tasks);
        for (var attempt = 1; ; attempt++)
        {
            var npidFor = new string[tasks.Count];
            for (var i = 0; i < npidFor.Length; i++)
            {
                npidFor[i] = npids.Next();
            }

            var (assignment, reasons, reservedAlready) = await PlaceAsync(tasks, allowPartial, spread, resolved, npidFor);
            SpawnHops.Record("2 placement.offers", placing);
            var reserving = Stopwatch.GetTimestamp();
            var created = new List<(string Npid, ProcessSpec Spec, string Node, int Task)>(tasks.Count);
            var rejected = new List<string>();
            for (var i = 0; i < tasks.Count; i++)
            {
                if (assignment[i] is { } node)
                {
                    created.Add((npidFor[i], tasks[i], node, i));
                }
                else
                {
                    rejected.Add($"task {i}: {reasons[i] ?? "no node had room"}");
                }
            }

            if (reservedAlready)
            {
                return (created, rejected);
            }

            var byNode = created.GroupBy(c => c.Node).ToArray();
            var reserved = await Task.WhenAll(byNode.Select(g => GrainFactory.Get<INodeGrain>(g.Key)
                .ReserveAsync(g.Select(c => (c.Npid, ResourceAsk.Of(c.Spec))).ToArray(), options.Value.ReservationLease)));
            if (reserved.All(ok => ok))
            {
                SpawnHops.Record("3 placement.reserve", reserving);
                return (created, rejected);
            }

            await Task.WhenAll(created.Select(c => GrainFactory.Get<INodeGrain>(c.Node).ReleaseAsync(c.Npid)));
            if (attempt == attempts)
            {
                throw NefeleException.Rejected("spawn rejected: concurrent requests kept taking the room offered; retry");
            }
        }
    }

    /// <summary>
    /// Chooses a node per task (null: none had room, with the reason), or throws with the
    /// shortfall. Tasks with the same constraints share one sample of matching nodes; every
    /// sampled node offers for the tasks it may take; then tasks go, in order, to the best-scored
    /// node that still has room for them by the offers' free capacity — with spread, to the node
    /// holding the fewest of this request's tasks first (round-robin over the best nodes).
    /// When one node is the only candidate for every task (one node, or constraints that leave
    /// one), its offer and the reservation of all tasks (under <paramref name="npidFor"/>) are one
    /// call, and Reserved says they are held already.
    /// </summary>
    private async Task<(string?[] Assignment, string?[] Reasons, bool Reserved)> PlaceAsync(
        IReadOnlyList<ProcessSpec> tasks, bool allowPartial, bool spread, IReadOnlyDictionary<Selector, IReadOnlySet<string>> resolved, string[] npidFor)
    {
        var index = await directory.GetAsync();
        var active = membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active && !string.IsNullOrEmpty(m.Name))
            .Select(m => m.Name)
            .ToList();
        if (active.Count == 0 && index.Hollow.Count == 0)
        {
            throw new NefeleException(ErrorCodes.NodeUnavailable, "spawn rejected: no node is active in the cluster");
        }

        var o = options.Value;
        var groups = Enumerable.Range(0, tasks.Count).GroupBy(i => ConstraintKey(tasks[i])).Select(g => g.ToArray()).ToArray();
        var groupOf = new int[tasks.Count];
        var candidates = new IReadOnlyList<string>[groups.Length];
        var groupReason = new string?[groups.Length];
        var groupNote = new string?[groups.Length];
        for (var fresh = false; ; fresh = true)
        {
            var sampler = new CandidateSampler(index, active, resolved, Random.Shared);
            for (var g = 0; g < groups.Length; g++)
            {
                // Spread needs at least a node per task, and twice that so full nodes do not crowd the sample.
                var d = spread ? Math.Max(o.SampleSize, Math.Min(2 * groups[g].Length, o.MaxSampleSize)) : o.SampleSize;
                (candidates[g], groupReason[g], groupNote[g]) = sampler.Sample(tasks[groups[g][0]], d);
                foreach (var i in groups[g])
                {
                    groupOf[i] = g;
                }
            }

            // No node matched a constraint in this silo's copy of the directory: a node that just
            // joined (or changed its labels) may not be in it yet. Ask the directory once before refusing.
            if (fresh || groupReason.All(r => r is null))
            {
                break;
            }

            directory.Invalidate();
            index = await directory.GetAsync();
        }

        // Each node is asked once, for every task it may take.
        var asksByNode = new Dictionary<string, List<ResourceAsk>>(StringComparer.Ordinal);
        for (var g = 0; g < groups.Length; g++)
        {
            foreach (var node in candidates[g])
            {
                if (!asksByNode.TryGetValue(node, out var list))
                {
                    asksByNode[node] = list = [];
                }

                list.AddRange(groups[g].Select(i => ResourceAsk.Of(tasks[i])));
            }
        }

        NodeOffer[] answered;
        if (asksByNode.Count == 1 && asksByNode.First() is var (only, asks) && asks.Count == tasks.Count)
        {
            try
            {
                var (offer, reserved) = await GrainFactory.Get<INodeGrain>(only)
                    .OfferAndReserveAsync(npidFor.Zip(tasks, (npid, spec) => (npid, ResourceAsk.Of(spec))).ToArray(), o.ReservationLease);
                if (reserved)
                {
                    return (Enumerable.Repeat<string?>(only, tasks.Count).ToArray(), new string?[tasks.Count], true);
                }

                answered = [offer];
            }
            catch (Exception e)
            {
                answered = [DidNotAnswer(only, e)];
            }
        }
        else
        {
            answered = await Task.WhenAll(asksByNode.Select(async kv =>
            {
                try
                {
                    return await GrainFactory.Get<INodeGrain>(kv.Key).OfferAsync(kv.Value);
                }
                catch (Exception e)
                {
                    return DidNotAnswer(kv.Key, e);
                }
            }));
        }

        var offers = answered.ToDictionary(x => x.Node, StringComparer.Ordinal);

        var room = offers.Values.Where(x => x.Fits > 0).ToDictionary(
            x => x.Node,
            x => new Room(x.FreeCpuMillis, x.FreeMemoryBytes, new Dictionary<string, long>(x.FreeDevices, StringComparer.Ordinal), x.Score),
            StringComparer.Ordinal);
        var ranked = candidates.Select(c => c.Where(room.ContainsKey).OrderByDescending(n => room[n].Score).ToArray()).ToArray();
        var assignment = new string?[tasks.Count];
        var reasons = new string?[tasks.Count];
        var placed = 0;
        for (var i = 0; i < tasks.Count; i++)
        {
            var spec = tasks[i];
            var order = spread ? ranked[groupOf[i]].OrderBy(n => room[n].Placed).ThenByDescending(n => room[n].Score) : (IEnumerable<string>)ranked[groupOf[i]];
            foreach (var node in order)
            {
                if (room[node].TryTake(spec))
                {
                    assignment[i] = node;
                    placed++;
                    break;
                }
            }

            if (assignment[i] is null)
            {
                reasons[i] = groupReason[groupOf[i]] ?? Shortfall(candidates[groupOf[i]], offers);
            }
        }

        if (placed < tasks.Count && !(allowPartial && placed > 0))
        {
            var first = Array.FindIndex(assignment, a => a is null);
            var what = tasks.Count == 1 ? "spawn rejected" : $"spawn rejected: {tasks.Count} tasks asked, room for {placed}";
            var reason = groupReason[groupOf[first]] is { } constraint
                ? constraint
                : $"not enough {Shortfall(candidates[groupOf[first]], offers)}" + (groupNote[groupOf[first]] is { } note ? $" ({note})" : string.Empty);
            throw NefeleException.Rejected($"{what}: {reason}");
        }

        return (assignment, reasons, false);
    }

    private static NodeOffer DidNotAnswer(string node, Exception e) =>
        new() { Node = node, Fits = 0, Shortfall = $"node {node} did not answer: {e.Message}" };

    /// <summary>The short resource as the best of the offers states it.</summary>
    private static string Shortfall(IReadOnlyList<string> nodes, Dictionary<string, NodeOffer> offers)
    {
        var best = nodes.Select(n => offers[n]).OrderByDescending(x => x.Fits).ThenByDescending(x => x.FreeMemoryBytes).FirstOrDefault();
        return best?.Shortfall ?? "capacity";
    }

    /// <summary>
    /// The nodes each npid: and name: selector of the request stands for, looked up once per
    /// request (a name walks the tenant's live processes).
    /// </summary>
    private async Task<IReadOnlyDictionary<Selector, IReadOnlySet<string>>> ResolveAsync(IReadOnlyList<ProcessSpec> tasks)
    {
        var selectors = tasks.Distinct().SelectMany(t => t.Affinity.Concat(t.AntiAffinity)).Distinct(StringComparer.Ordinal)
            .Select(s => Selector.Parse(s, string.Empty)).Where(s => s.Kind != SelectorKind.Label).ToArray();
        var resolved = new Dictionary<Selector, IReadOnlySet<string>>();
        if (selectors.Length == 0)
        {
            return resolved;
        }

        IReadOnlyList<ProcessInfo>? live = null;
        if (selectors.Any(s => s.Kind == SelectorKind.Name))
        {
            var listed = await GrainFactory.Get<ITenantGrain>(Tenant).ListAsync();
            live = (await Task.WhenAll(listed.Select(n => GrainFactory.Get<IProcessGrain>(n).GetAsync(Tenant))))
                .Where(p => p is not null && !p.State.IsTerminal() && p.Node is not null).ToArray()!;
        }

        foreach (var s in selectors)
        {
            if (s.Kind == SelectorKind.Name)
            {
                resolved[s] = live!.Where(p => p.Name == s.Value).Select(p => p.Node!).ToHashSet(StringComparer.Ordinal);
                continue;
            }

            var p = await GrainFactory.Get<IProcessGrain>(s.Value).GetAsync(Tenant);
            resolved[s] = p is { Node: { } node } && !p.State.IsTerminal() ? new HashSet<string>(StringComparer.Ordinal) { node } : new HashSet<string>(StringComparer.Ordinal);
        }

        return resolved;
    }

    private static string ConstraintKey(ProcessSpec spec) =>
        string.Join(',', spec.Devices.Where(d => d.Value > 0).Select(d => d.Key).Order(StringComparer.Ordinal)) + "|"
        + string.Join(',', spec.Affinity.Order(StringComparer.Ordinal)) + "|" + string.Join(',', spec.AntiAffinity.Order(StringComparer.Ordinal));

    /// <summary>What a sampled node has left while this request's tasks are assigned to it.</summary>
    private sealed class Room(long cpu, long memory, Dictionary<string, long> devices, double score)
    {
        public double Score { get; } = score;

        public int Placed { get; private set; }

        public bool TryTake(ProcessSpec spec)
        {
            if (spec.CpuMillis > cpu || spec.MemoryBytes > memory || spec.Devices.Any(d => d.Value > devices.GetValueOrDefault(d.Key)))
            {
                return false;
            }

            cpu -= spec.CpuMillis;
            memory -= spec.MemoryBytes;
            foreach (var (name, count) in spec.Devices)
            {
                devices[name] -= count;
            }

            Placed++;
            return true;
        }
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
                    await GrainFactory.Get<IProcessGrain>(created[i].Npid).SignalAsync(Tenant, Signals.SigKill);
                }
                catch (NefeleException)
                {
                    // It ended on its own meanwhile.
                }
            }
        }
    }

    private static bool SameRequest(SpawnRequest a, SpawnRequest b) =>
        a.Count == b.Count && a.AllowPartial == b.AllowPartial && a.Spread == b.Spread && a.Parent == b.Parent && a.Tasks.Count == b.Tasks.Count
        && a.Tasks.Zip(b.Tasks).All(p => SameSpec(p.First, p.Second));

    private static bool SameSpec(ProcessSpec a, ProcessSpec b) =>
        a.Path == b.Path && a.Args.SequenceEqual(b.Args) && a.Cwd == b.Cwd && a.CpuMillis == b.CpuMillis
        && a.MemoryBytes == b.MemoryBytes && a.Name == b.Name && a.NoHandshake == b.NoHandshake && a.Tty == b.Tty
        && a.Env.Count == b.Env.Count && a.Env.All(kv => b.Env.TryGetValue(kv.Key, out var v) && v == kv.Value)
        && a.Devices.Count == b.Devices.Count && a.Devices.All(kv => b.Devices.TryGetValue(kv.Key, out var v) && v == kv.Value)
        && a.Affinity.SequenceEqual(b.Affinity) && a.AntiAffinity.SequenceEqual(b.AntiAffinity);
}
