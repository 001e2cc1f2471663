using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nefele.Client;
using Nefele.Errors;
using Nefele.Processes;
using Orleans.Runtime;

namespace Nefele.Messaging;

/// <summary>
/// A silo's router for messages that leave a node (hostd's MessageOut) or come from outside the
/// nodes (the SDK, REST). Each target is resolved to its node (a cache; the process grain on a
/// miss) or is an external mailbox (told apart by its address), then queued on one lane per
/// target node or mailbox. A lane has one call in flight at a time to the target's node mail grain
/// (on that node's silo) or mailbox grain, carrying everything queued since, in order: so
/// messages from one sender to one receiver arrive in the order they were sent (FIFO per pair),
/// and under load one call carries many. Not a broker: nothing is stored here; a message whose
/// target node fails in flight is lost (at-most-once), and an acked send learns it.
/// </summary>
public sealed class MessageRouter(
    IGrainFactory grains,
    IClusterMembershipService membership,
    IMessagingNameSource names,
    IOptions<MessagingOptions> options,
    ILogger<MessageRouter> logger)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Lane> _lanes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Queue<Part>> _resolving = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Tenant, string Node)> _routes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Task> _intake = new(StringComparer.Ordinal);
    private readonly Dictionary<string, uint> _rotation = new(StringComparer.Ordinal);

    /// <summary>
    /// Routes one send. Everything from one source (a node, an external sender) is placed on its
    /// lanes in the order this is called; the task completes once the message is routed (or, with
    /// ack, in every target mailbox) and answers how many mailboxes that was.
    /// </summary>
    /// <exception cref="NefeleException">name_not_found, npid_not_found, not_running, mailbox_full, node_unavailable.</exception>
    public Task<int> RouteAsync(RouteRequest request)
    {
        var source = request.SourceNode ?? "@" + request.From;
        var lookup = NeedsLookup(request);
        lock (_lock)
        {
            if (!lookup && !_intake.ContainsKey(source))
            {
                return Dispatch(request, request.Targets ?? [request.To]);
            }

            // Behind an earlier send of this source that is still looking up names: wait for it.
            var placed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var previous = _intake.GetValueOrDefault(source) ?? Task.CompletedTask;
            _intake[source] = placed.Task;
            return Task.Run(() => IntakeAsync(source, previous, placed, request, lookup));
        }
    }

    /// <summary>A send whose targets come from the name service (a name or topic the sender did not resolve).</summary>
    private static bool NeedsLookup(RouteRequest r) =>
        r.Mode == DeliveryMode.Publish ? r.Targets is not { Count: > 0 }
        : r.Mode != DeliveryMode.Broadcast && r.Targets is null && !Npid.IsWellFormed(r.To);

    private async Task<int> IntakeAsync(string source, Task previous, TaskCompletionSource placed, RouteRequest request, bool lookup)
    {
        Task<int> done;
        try
        {
            await previous;
            var targets = lookup ? await LookupAsync(request) : request.Targets ?? [request.To];
            lock (_lock)
            {
                done = Dispatch(request, targets);
            }
        }
        catch (Exception e)
        {
            done = Task.FromException<int>(e);
        }
        finally
        {
            lock (_lock)
            {
                if (_intake.TryGetValue(source, out var tail) && tail == placed.Task)
                {
                    _intake.Remove(source);
                }
            }

            placed.SetResult();
        }

        return await done;
    }

    private async Task<IReadOnlyList<string>> LookupAsync(RouteRequest r)
    {
        var topic = r.Mode == DeliveryMode.Publish;
        var holders = await names.HoldersAsync(r.Tenant, r.To, topic, CancellationToken.None);
        if (topic)
        {
            // hostd put the message in its own node's subscribers' mailboxes already.
            return holders.Where(h => r.SourceNode is null || h.Node != r.SourceNode).Select(h => h.Npid).ToArray();
        }

        if (holders.Count == 0)
        {
            throw new NefeleException(ErrorCodes.NameNotFound, $"no process holds the name {r.To}");
        }

        switch (r.Mode)
        {
            case DeliveryMode.All:
                return holders.Select(h => h.Npid).ToArray();
            case DeliveryMode.Failover:
                return [holders[0].Npid];
            default:
                uint turn;
                lock (_lock)
                {
                    var key = r.Tenant + "/" + r.To;
                    turn = _rotation.GetValueOrDefault(key);
                    _rotation[key] = turn + 1;
                }

                return [holders[(int)(turn % (uint)holders.Count)].Npid];
        }
    }

    /// <summary>Places one part per target on its lane (or behind its lookup). Called under the lock.</summary>
    private Task<int> Dispatch(RouteRequest r, IReadOnlyList<string> targets)
    {
        var tracker = new SendTracker(r.Ack);
        var template = new MailItem
        {
            Tenant = r.Tenant,
            From = r.From,
            To = r.Mode == DeliveryMode.Broadcast ? "*" : r.To,
            Tag = r.Tag,
            Data = r.Data,
            SentUnixMs = r.SentUnixMs,
            WaitMs = r.WaitMs,
        };

        if (r.Mode == DeliveryMode.Broadcast)
        {
            foreach (var node in ActiveNodes().Where(n => n != r.SourceNode))
            {
                tracker.Add();
                Enqueue(NodeLane(node), new Part(template with { Broadcast = true }, tracker));
            }
        }
        else if (targets.Count == 0 && r.Mode != DeliveryMode.Publish)
        {
            tracker.Add();
            tracker.NotRouted(new DeliveryFailure(r.To, ErrorCodes.NameNotFound, $"no process holds the name {r.To}"));
        }
        else
        {
            foreach (var target in targets.Distinct(StringComparer.Ordinal))
            {
                tracker.Add();
                Place(new Part(template with { Targets = [target] }, tracker), target);
            }
        }

        tracker.Sealed();
        return tracker.Done;
    }

    private void Place(Part part, string target)
    {
        if (MailboxAddress.IsExternal(target))
        {
            Enqueue(MailboxLane(target), part);
            return;
        }

        if (!Npid.IsWellFormed(target))
        {
            part.Tracker.NotRouted(new DeliveryFailure(target, ErrorCodes.BadRequest, $"target '{Validation.Names.Shorten(target)}' is not an NPID or mailbox address"));
            return;
        }

        var key = part.Item.Tenant + "/" + target;
        if (_resolving.TryGetValue(key, out var waiting))
        {
            waiting.Enqueue(part);
            return;
        }

        if (_routes.TryGetValue(target, out var route))
        {
            if (route.Tenant == part.Item.Tenant)
            {
                Enqueue(NodeLane(route.Node), part);
            }
            else
            {
                Unroutable(part, ErrorCodes.NpidNotFound, $"no process {target} in this tenant");
            }

            return;
        }

        var queue = new Queue<Part>();
        queue.Enqueue(part);
        _resolving[key] = queue;
        _ = Task.Run(() => ResolveAsync(key, part.Item.Tenant, target));
    }

    /// <summary>
    /// Asks the process grain where <paramref name="npid"/> lives, then releases the parts that
    /// waited for the answer onto their lane, in order.
    /// </summary>
    private async Task ResolveAsync(string key, string tenant, string npid)
    {
        string? node = null;
        var create = false;
        string? code = null;
        var message = string.Empty;
        try
        {
            var info = await grains.GetGrain<IProcessGrain>(npid).GetAsync(tenant);
            if (info is null)
            {
                (code, message) = (ErrorCodes.NpidNotFound, $"no process {npid} in this tenant");
            }
            else if (info.State.IsTerminal())
            {
                (code, message) = (ErrorCodes.NotRunning, $"process {npid} has ended ({info.State}): its mailbox is gone");
            }
            else if (info.Node is null)
            {
                (code, message) = (ErrorCodes.NotRunning, $"process {npid} is not placed yet");
            }
            else
            {
                node = info.Node;

                // Placed or Starting: its node makes the mailbox now, so messages wait for it.
                create = info.State != ProcessState.Running;
            }
        }
        catch (Exception e)
        {
            (code, message) = (e is NefeleException ne ? ne.Code : ErrorCodes.NodeUnavailable, $"could not find where {npid} runs: {e.Message}");
        }

        lock (_lock)
        {
            if (!_resolving.Remove(key, out var parts))
            {
                return;
            }

            if (node is not null && !create)
            {
                if (_routes.Count >= options.Value.RouteCacheEntries)
                {
                    _routes.Clear();
                }

                _routes[npid] = (tenant, node);
            }

            while (parts.TryDequeue(out var part))
            {
                if (node is null)
                {
                    Unroutable(part, code!, message);
                }
                else
                {
                    Enqueue(NodeLane(node), create ? part with { Item = part.Item with { Create = true } } : part);
                }
            }
        }
    }

    private static void Unroutable(Part part, string code, string message)
    {
        if (!part.Tracker.Ack)
        {
            MessagingTelemetry.Dropped.Add(1, new KeyValuePair<string, object?>(Observability.Instruments.Attributes.Reason, code));
        }

        part.Tracker.NotRouted(new DeliveryFailure(part.Item.Targets.Count > 0 ? part.Item.Targets[0] : string.Empty, code, message));
    }

    private Lane NodeLane(string node) => LaneOf("n:" + node);

    private Lane MailboxLane(string address) => LaneOf("m:" + address);

    private Lane LaneOf(string key)
    {
        if (!_lanes.TryGetValue(key, out var lane))
        {
            lane = new Lane(key);
            _lanes[key] = lane;
        }

        return lane;
    }

    /// <summary>Queues a part on its lane (under the lock) and starts the lane's pump if it is idle.</summary>
    private void Enqueue(Lane lane, Part part)
    {
        lane.Parts.Enqueue(part);
        part.Tracker.Routed(part.Item.Targets.Count);
        MessagingTelemetry.Routed.Add(1);
        if (!lane.Pumping)
        {
            lane.Pumping = true;
            _ = Task.Run(() => PumpAsync(lane));
        }
    }

    /// <summary>One call in flight per lane, each carrying what queued meanwhile, in order.</summary>
    private async Task PumpAsync(Lane lane)
    {
        // A batch carries many sends, each with its own trace: the pump belongs to none of them
        // (not to the one whose send happened to start it).
        System.Diagnostics.Activity.Current = null;
        var o = options.Value;
        var batch = new List<Part>();
        while (true)
        {
            batch.Clear();
            lock (_lock)
            {
                long bytes = 0;
                while (batch.Count < o.BatchMaxMessages && lane.Parts.TryPeek(out var next)
                       && (batch.Count == 0 || bytes + next.Item.Data.Length <= o.BatchMaxBytes))
                {
                    batch.Add(lane.Parts.Dequeue());
                    bytes += next.Item.Data.Length;
                }

                if (batch.Count == 0)
                {
                    lane.Pumping = false;
                    if (lane.Parts.Count == 0)
                    {
                        _lanes.Remove(lane.Key);
                    }

                    return;
                }
            }

            var items = batch.Select(p => p.Item).ToArray();
            IReadOnlyList<DeliveryResult> results;
            var target = lane.Key[2..];
            try
            {
                results = lane.Key[0] == 'n'
                    ? await grains.GetGrain<INodeMailGrain>(target).DeliverAsync(items)
                    : await grains.GetGrain<IMailboxGrain>(target).DeliverAsync(items);
            }
            catch (Exception e)
            {
                var code = e is NefeleException ne ? ne.Code : ErrorCodes.NodeUnavailable;
                var message = lane.Key[0] == 'n' ? $"node {target} did not take the message: {e.Message}" : $"mailbox {target} did not take the message: {e.Message}";
                logger.LogDebug("Delivery of {Count} messages to {Lane} failed: {Error}", items.Length, lane.Key, e.Message);
                results = items.Select(i => DeliveryResult.FailedAll(i, code, message)).ToArray();
                if (lane.Key[0] == 'n')
                {
                    Forget(target);
                }
            }

            for (var i = 0; i < batch.Count; i++)
            {
                var result = i < results.Count ? results[i] : DeliveryResult.FailedAll(items[i], ErrorCodes.InternalError, "no result for this message");
                Settle(batch[i], result);
            }
        }
    }

    private void Settle(Part part, DeliveryResult result)
    {
        foreach (var failure in result.Failures)
        {
            if (failure.Code is ErrorCodes.NotRunning or ErrorCodes.NpidNotFound)
            {
                lock (_lock)
                {
                    _routes.Remove(failure.Target);
                }
            }

            if (!part.Tracker.Ack)
            {
                MessagingTelemetry.Dropped.Add(1, new KeyValuePair<string, object?>(Observability.Instruments.Attributes.Reason, failure.Code));
            }
        }

        part.Tracker.Delivered(result);
    }

    /// <summary>The node is gone or unreachable: its routes are stale.</summary>
    private void Forget(string node)
    {
        lock (_lock)
        {
            foreach (var (npid, route) in _routes)
            {
                if (route.Node == node)
                {
                    _routes.Remove(npid);
                }
            }
        }
    }

    private IEnumerable<string> ActiveNodes() =>
        membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active && !string.IsNullOrEmpty(m.Name))
            .Select(m => m.Name)
            .Distinct(StringComparer.Ordinal);

    private sealed record Part(MailItem Item, SendTracker Tracker);

    private sealed class Lane(string key)
    {
        public string Key { get; } = key;

        public Queue<Part> Parts { get; } = new();

        public bool Pumping { get; set; }
    }
}
