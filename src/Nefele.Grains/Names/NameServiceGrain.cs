using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nefele.Client;
using Nefele.Errors;
using Nefele.Nodes;
using Nefele.Processes;
using Nefele.Validation;
using Orleans.Concurrency;
using Orleans.Runtime;

namespace Nefele.Naming;

/// <summary>
/// One tenant's names, service ids and topics (see <see cref="INameServiceGrain"/>). Reentrant:
/// every change is made in memory within one turn (check and apply together, so limits hold), then
/// awaits a save that writes the record and pushes the new tables to every node holding a copy.
/// Changes that arrive while a save is under way go out together with the next one, and each caller
/// returns only once its change is stored and pushed (or the push's bound passed).
/// Reentrancy is also what lets a process's end (<see cref="DropHolderAsync"/>) come in while a
/// registration waits on that same process's grain.
/// </summary>
[Reentrant]
public sealed class NameServiceGrain(
    [PersistentState("names", StorageNames.Default)] IPersistentState<NameServiceRecord> state,
    IOptions<NameServiceOptions> options,
    INodeLiveness liveness,
    TimeProvider time,
    ILogger<NameServiceGrain> logger) : Grain, INameServiceGrain
{
    // Names plus topics each holder has, rebuilt from the record on activation (for MaxNamesPerProcess).
    private readonly Dictionary<string, int> _held = new(StringComparer.Ordinal);

    // Holders known to have ended, each with the count of ends when it ended, so a registration
    // that raced its holder's end is refused instead of leaving a dead holder behind: a process
    // that ended ever (NPIDs are never reused), a mailbox that was dropped while its registration
    // checked it (a REST key's mailbox opens again under its address). Bounded, oldest forgotten.
    private readonly Dictionary<string, long> _ended = new(StringComparer.Ordinal);
    private readonly Queue<string> _endedOrder = new();
    private long _ends;

    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _saving;
    private long _changes;
    private long _saved;
    private ulong _pushedVersion;

    private string Tenant => this.GetPrimaryKeyString();

    private NameServiceRecord Record => state.State;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        foreach (var holder in Record.Names.Values.Concat(Record.Topics.Values).SelectMany(h => h))
        {
            _held[holder.Npid] = _held.GetValueOrDefault(holder.Npid) + 1;
        }

        foreach (var node in Record.Nodes)
        {
            liveness.Follow(node);
        }

        _pushedVersion = Record.Version;
        return base.OnActivateAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<string>> RegisterAsync(string name, string npid, CancellationToken ct)
    {
        Names.ValidateServiceName(name);
        return await AddAsync(Record.Names, name, npid, "name");
    }

    public async Task SubscribeAsync(string topic, string npid, CancellationToken ct)
    {
        Names.ValidateServiceName(topic, "topic");
        await AddAsync(Record.Topics, topic, npid, "topic");
    }

    public async Task UnregisterAsync(string name, string npid, CancellationToken ct)
    {
        Names.ValidateServiceName(name);
        await RemoveAsync(Record.Names, name, npid, "name");
    }

    public async Task UnsubscribeAsync(string topic, string npid, CancellationToken ct)
    {
        Names.ValidateServiceName(topic, "topic");
        await RemoveAsync(Record.Topics, topic, npid, "topic");
    }

    public async Task<NameEntry> WaitAsync(string name, TimeSpan timeout, CancellationToken ct)
    {
        Names.ValidateServiceName(name);
        var wait = timeout < Limits.MaxMessagingWait ? timeout : Limits.MaxMessagingWait;
        var started = time.GetTimestamp();
        while (true)
        {
            if (Record.Names.TryGetValue(name, out var holders) && holders.Count > 0)
            {
                return Entry(name, holders);
            }

            if (wait <= TimeSpan.Zero)
            {
                throw new NefeleException(ErrorCodes.NameNotFound, $"no process holds the name {name} in tenant {Tenant}");
            }

            var left = wait - time.GetElapsedTime(started);
            if (left <= TimeSpan.Zero)
            {
                throw new NefeleException(ErrorCodes.TimedOut, $"nobody registered the name {name} within {wait.TotalSeconds:0.###} s");
            }

            await _changed.Task.WaitAsync(left, time, ct).ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext | ConfigureAwaitOptions.SuppressThrowing);
            ct.ThrowIfCancellationRequested();
        }
    }

    public Task<IReadOnlyList<NameEntry>> ListAsync(string? prefix, bool topics, CancellationToken ct)
    {
        var table = topics ? Record.Topics : Record.Names;
        IReadOnlyList<NameEntry> entries = table
            .Where(e => string.IsNullOrEmpty(prefix) || e.Key.StartsWith(prefix, StringComparison.Ordinal))
            .OrderBy(e => e.Key, StringComparer.Ordinal)
            .Select(e => Entry(e.Key, e.Value))
            .ToArray();
        return Task.FromResult(entries);
    }

    public Task<IReadOnlyList<NameHolder>> HoldersAsync(string name, bool topic) =>
        Task.FromResult<IReadOnlyList<NameHolder>>((topic ? Record.Topics : Record.Names).TryGetValue(name, out var holders) ? holders.ToArray() : []);

    public async Task<NameTable> AttachNodeAsync(string node)
    {
        if (!Record.Nodes.Contains(node))
        {
            Record.Nodes.Add(node);
            liveness.Follow(node);
            await SaveAsync();
        }

        return Snapshot();
    }

    public async Task DropHolderAsync(string npid)
    {
        RememberEnded(npid);
        if (Drop(h => h.Npid == npid) > 0)
        {
            Changed();
            await SaveAsync();
        }
    }

    public async Task<NameTable> DropNodeAsync(string node)
    {
        var dropped = Drop(h => h.Node == node);
        var subscribed = Record.Nodes.Remove(node);
        if (dropped > 0)
        {
            logger.LogInformation("Node {Node} is lost: {Count} names and subscriptions of tenant {Tenant} held there are gone", node, dropped, Tenant);
            Changed();
        }

        if (dropped > 0 || subscribed)
        {
            await SaveAsync();
        }

        return Snapshot();
    }

    private async Task<IReadOnlyList<string>> AddAsync(Dictionary<string, List<NameHolder>> table, string name, string npid, string what)
    {
        var endsBefore = _ends;
        var node = await HolderNodeAsync(npid, what);

        // Checked and applied in one turn, after the only await: nothing interleaves in between.
        if (_ended.TryGetValue(npid, out var endedAt))
        {
            if (node is not null)
            {
                throw new NefeleException(ErrorCodes.NotRunning, $"process {npid} has ended: only a live process can hold a {what}");
            }

            if (endedAt > endsBefore)
            {
                throw new NefeleException(ErrorCodes.NpidNotFound, $"mailbox {npid} was closed: only an open mailbox can hold a {what}");
            }
        }

        table.TryGetValue(name, out var holders);
        if (holders?.Exists(h => h.Npid == npid) == true)
        {
            return holders.Select(h => h.Npid).ToArray();
        }

        if (holders is null && table.Count >= Limits.MaxNamesPerTenant)
        {
            throw new NefeleException(ErrorCodes.LimitExceeded, $"tenant {Tenant} already has {table.Count} {what}s (at most {Limits.MaxNamesPerTenant})");
        }

        if (_held.GetValueOrDefault(npid) >= Limits.MaxNamesPerProcess)
        {
            throw new NefeleException(ErrorCodes.LimitExceeded, $"{npid} already holds {Limits.MaxNamesPerProcess} names and topics (at most {Limits.MaxNamesPerProcess})");
        }

        if (holders is null)
        {
            holders = [];
            table[name] = holders;
        }

        holders.Add(new NameHolder { Npid = npid, Node = node });
        _held[npid] = _held.GetValueOrDefault(npid) + 1;
        IReadOnlyList<string> after = holders.Select(h => h.Npid).ToArray();
        Changed();
        await SaveAsync();
        return after;
    }

    private async Task RemoveAsync(Dictionary<string, List<NameHolder>> table, string name, string npid, string what)
    {
        if (!Npid.IsWellFormed(npid))
        {
            throw NefeleException.Bad($"holder '{Names.Shorten(npid)}' is not an NPID or mailbox address");
        }

        if (!table.TryGetValue(name, out var holders) || holders.RemoveAll(h => h.Npid == npid) == 0)
        {
            throw new NefeleException(ErrorCodes.NameNotFound, $"{npid} does not hold the {what} {name}");
        }

        if (holders.Count == 0)
        {
            table.Remove(name);
        }

        Forget(npid, 1);
        Changed();
        await SaveAsync();
    }

    /// <summary>
    /// The node of a holder (null for an external mailbox), once it may hold names in this tenant:
    /// a live process of the tenant, or an open mailbox of the tenant.
    /// </summary>
    private async Task<string?> HolderNodeAsync(string npid, string what)
    {
        if (!Npid.IsWellFormed(npid))
        {
            throw NefeleException.Bad($"holder '{Names.Shorten(npid)}' is not an NPID or mailbox address");
        }

        if (Nefele.Messaging.MailboxAddress.IsExternal(npid))
        {
            if (!await GrainFactory.Get<Nefele.Messaging.IMailboxGrain>(npid).IsOpenAsync(Tenant))
            {
                throw new NefeleException(ErrorCodes.NpidNotFound, $"no open mailbox {npid} in tenant {Tenant}: only an open mailbox can hold a {what}");
            }

            return null;
        }

        return await GrainFactory.Get<IProcessGrain>(npid).HoldNamesAsync(Tenant);
    }

    /// <summary>Removes every holder that matches from both tables; answers how many entries it left.</summary>
    private int Drop(Predicate<NameHolder> match)
    {
        var dropped = 0;
        foreach (var table in new[] { Record.Names, Record.Topics })
        {
            foreach (var (name, holders) in table.ToArray())
            {
                foreach (var holder in holders.FindAll(match))
                {
                    holders.Remove(holder);
                    Forget(holder.Npid, 1);
                    dropped++;
                }

                if (holders.Count == 0)
                {
                    table.Remove(name);
                }
            }
        }

        return dropped;
    }

    private void Forget(string npid, int count)
    {
        var left = _held.GetValueOrDefault(npid) - count;
        if (left > 0)
        {
            _held[npid] = left;
        }
        else
        {
            _held.Remove(npid);
        }
    }

    private void RememberEnded(string npid)
    {
        var known = _ended.ContainsKey(npid);
        _ended[npid] = ++_ends;
        if (known)
        {
            return;
        }

        _endedOrder.Enqueue(npid);
        while (_endedOrder.Count > options.Value.EndedHoldersKept)
        {
            _ended.Remove(_endedOrder.Dequeue());
        }
    }

    /// <summary>
    /// A new version of the tables, and waiters woken. The version also grows past the wall clock's
    /// microseconds: a name service whose storage was volatile starts again from an empty record,
    /// and its first change must still outrank the tables the nodes kept (hostd keeps the highest).
    /// </summary>
    private void Changed()
    {
        var clock = (ulong)Math.Max(0, time.GetUtcNow().ToUnixTimeMilliseconds()) * 1000;
        Record.Version = Math.Max(Record.Version + 1, clock);
        var woken = _changed;
        _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        woken.TrySetResult();
    }

    /// <summary>Returns once the record as it is now is stored and its tables pushed (group commit).</summary>
    private async Task SaveAsync()
    {
        var mine = ++_changes;
        while (_saved < mine)
        {
            var saving = _saving ??= SaveOnceAsync();
            try
            {
                await saving;
            }
            finally
            {
                if (ReferenceEquals(_saving, saving))
                {
                    _saving = null;
                }
            }
        }
    }

    private async Task SaveOnceAsync()
    {
        var upTo = _changes;
        await state.WriteStateAsync();
        if (Record.Version != _pushedVersion)
        {
            var table = Snapshot();
            await PushAsync(table);
            _pushedVersion = Math.Max(_pushedVersion, table.Version);
        }

        _saved = Math.Max(_saved, upTo);
    }

    /// <summary>To every node holding a copy, in parallel; each bounded by <see cref="NameServiceOptions.PushTimeout"/>.</summary>
    private Task PushAsync(NameTable table) => Task.WhenAll(Record.Nodes.ToArray().Select(node => PushAsync(node, table)));

    private async Task PushAsync(string node, NameTable table)
    {
        try
        {
            await GrainFactory.Get<INodeGrain>(node).ApplyNamesAsync(table).WaitAsync(options.Value.PushTimeout, time);
        }
        catch (Exception e)
        {
            if (liveness.IsLost(node))
            {
                // Saved with the next change; until then a push to it fails fast.
                Record.Nodes.Remove(node);
                logger.LogInformation("Node {Node} is lost: tenant {Tenant}'s names are no longer pushed to it", node, Tenant);
            }
            else
            {
                logger.LogWarning("Tenant {Tenant}'s names version {Version} did not reach node {Node}: {Error}", Tenant, table.Version, node, e.Message);
            }
        }
    }

    private NameTable Snapshot() => new()
    {
        Tenant = Tenant,
        Version = Record.Version,
        Names = Record.Names.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => Entry(e.Key, e.Value)).ToArray(),
        Topics = Record.Topics.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => Entry(e.Key, e.Value)).ToArray(),
    };

    private static NameEntry Entry(string name, List<NameHolder> holders) => new() { Name = name, Holders = holders.ToArray() };
}
