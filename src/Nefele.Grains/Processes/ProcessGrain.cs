using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Nefele.Client;
using Nefele.Errors;
using Nefele.Nodes;
using Nefele.Placement;
using Nefele.Tenants;
using Nefele.Validation;
using Orleans.Runtime;

namespace Nefele.Processes;

/// <summary>
/// One process and its state machine. Transitions happen only in <see cref="MoveAsync"/>,
/// which checks the table in <see cref="ProcessStates"/>, appends the event monitors read,
/// persists, and wakes waiting monitors — so each transition is published exactly once.
/// </summary>
public sealed partial class ProcessGrain(
    [PersistentState("process", StorageNames.Default)] IPersistentState<ProcessRecord> state,
    TimeProvider time,
    INodeLiveness liveness,
    ILogger<ProcessGrain> logger) : Grain, IProcessGrain
{
    private TaskCompletionSource _changed = NewSignal();

    private string Npid => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (Exists && Record.State == ProcessState.Running && Record.Node is { } node)
        {
            // Reactivated (e.g. its previous silo died): the node may be gone too.
            if (liveness.IsLost(node))
            {
                await EndAsync(new ProcessEnd { State = ProcessState.Lost, Reason = liveness.LostReason(node), EndedAt = time.GetUtcNow() });
            }
            else
            {
                liveness.Watch(node, Npid);
            }
        }

        await base.OnActivateAsync(cancellationToken);
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (Record.Node is { } node)
        {
            liveness.Unwatch(node, Npid);
        }

        return base.OnDeactivateAsync(reason, cancellationToken);
    }

    private ProcessRecord Record => state.State;

    private bool Exists => Record.Tenant is not null;

    public async Task<ProcessInfo> StartAsync(string tenant, ProcessSpec spec, string? parent, string node, RunAs runAs)
    {
        if (Exists)
        {
            // NPIDs are never reused: a second start of the same one is a replay.
            return Record.Tenant == tenant ? Snapshot() : throw NefeleException.Bad($"npid {Npid} is taken");
        }

        var entered = Stopwatch.GetTimestamp();
        Record.Tenant = tenant;
        Record.Spec = spec;
        Record.Parent = parent;
        Record.CreatedAt = time.GetUtcNow();
        await MoveAsync(ProcessState.Pending);
        Record.Node = node;
        await MoveAsync(ProcessState.Placed);
        await MoveAsync(ProcessState.Starting);
        SpawnHops.Record("5a process.before_launch", entered);
        var launching = Stopwatch.GetTimestamp();
        LaunchOutcome outcome;
        try
        {
            outcome = await GrainFactory.Get<INodeGrain>(Record.Node!).LaunchAsync(Npid, Record.Tenant!, Record.Spec!, runAs);
            SpawnHops.Record("5b process.launch_call", launching);
        }
        catch (NefeleException e) when (ErrorCodes.IsSpawnRefusal(e.Code))
        {
            // exec never happened: leave no record behind, as if the spawn was never admitted.
            await DiscardAsync();
            throw;
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Launch of {Npid} on {Node} failed", Npid, Record.Node);
            await EndAsync(new ProcessEnd
            {
                State = ProcessState.FailedToStart,
                Reason = $"node {Record.Node} did not launch it: {e.Message}",
                EndedAt = time.GetUtcNow(),
            });
            return Snapshot();
        }

        if (outcome.Started)
        {
            Record.Pid = outcome.Pid;
            Record.StartedAt = outcome.StartedAt;
            Record.Container = outcome.Container;
            var running = Stopwatch.GetTimestamp();
            await MoveAsync(ProcessState.Running);
            SpawnHops.Record("5c process.running_write", running);
        }
        else
        {
            Record.Pid = outcome.Pid;
            await EndAsync(new ProcessEnd
            {
                State = ProcessState.FailedToStart,
                Reason = outcome.FailureReason,
                EndedAt = time.GetUtcNow(),
            });
        }

        return Snapshot();
    }

    public async Task DiscardAsync()
    {
        if (!Exists)
        {
            return;
        }

        var tenant = Record.Tenant!;
        var node = Record.Node;
        if (state.RecordExists)
        {
            await state.ClearStateAsync();
        }

        state.State = new ProcessRecord();
        await GrainFactory.Get<ITenantGrain>(tenant).RemoveAsync(Npid);
        if (node is not null)
        {
            await ReleaseOnNodeAsync(node);
        }

        _changed.TrySetResult();
        DeactivateOnIdle();
    }

    public Task<ProcessInfo?> GetAsync(string tenant, CancellationToken ct) =>
        Task.FromResult(Exists && Record.Tenant == tenant ? Snapshot() : null);

    public Task<ProcessPlacement?> GetPlacementAsync(string tenant, CancellationToken ct) =>
        Task.FromResult(Exists && Record.Tenant == tenant && Record is { Node: { } node, Spec: { } spec }
            ? new ProcessPlacement { Node = node, Spec = spec }
            : null);

    public async Task<LogChunk?> ReadLogsAsync(string tenant, long offset, int maxBytes, TimeSpan wait, LogStream stream, CancellationToken ct)
    {
        if (!Exists || Record.Tenant != tenant)
        {
            return null;
        }

        if (Record.Node is not { } node)
        {
            return new LogChunk { Data = [], NextOffset = 0, Complete = Record.State.IsTerminal() };
        }

        return await AsFollowerAsync(wait, () => GrainFactory.Get<INodeGrain>(node).ReadLogsAsync(Npid, offset, maxBytes, wait, stream));
    }

    public async Task<LogRecordChunk?> ReadLogRecordsAsync(string tenant, LogRecordRead read, CancellationToken ct)
    {
        if (!Exists || Record.Tenant != tenant)
        {
            return null;
        }

        if (Record.Node is not { } node)
        {
            return new LogRecordChunk { Records = [], NextOffset = 0, Complete = Record.State.IsTerminal() };
        }

        var name = Record.Spec?.Name;
        return await AsFollowerAsync(read.Wait, () => GrainFactory.Get<INodeGrain>(node).ReadLogRecordsAsync(Npid, name, read));
    }

    /// <summary>A read that waits for output is a follower: each holds a call open on the node, so they are counted and bounded.</summary>
    private async Task<T> AsFollowerAsync<T>(TimeSpan wait, Func<Task<T>> read)
    {
        if (wait <= TimeSpan.Zero)
        {
            return await read();
        }

        if (_followers >= Limits.MaxLogFollowersPerProcess)
        {
            throw new NefeleException(ErrorCodes.LimitExceeded, $"process {Npid} already has {Limits.MaxLogFollowersPerProcess} log followers (at most {Limits.MaxLogFollowersPerProcess} at once)");
        }

        _followers++;
        try
        {
            return await read();
        }
        finally
        {
            _followers--;
        }
    }

    /// <summary>Log reads and watch calls waiting now (both interleave), bounded by <see cref="Limits"/>.</summary>
    private int _followers;

    private int _monitors;

    public async Task<IReadOnlyList<ProcessEvent>?> WatchAsync(string tenant, long afterSeq, TimeSpan maxWait)
    {
        if (maxWait <= TimeSpan.Zero || !Exists || Record.Tenant != tenant)
        {
            return await WatchOnceAsync(tenant, afterSeq, maxWait);
        }

        if (_monitors >= Limits.MaxMonitorsPerProcess)
        {
            throw new NefeleException(ErrorCodes.LimitExceeded, $"process {Npid} already has {Limits.MaxMonitorsPerProcess} monitors (at most {Limits.MaxMonitorsPerProcess} at once)");
        }

        _monitors++;
        try
        {
            return await WatchOnceAsync(tenant, afterSeq, maxWait);
        }
        finally
        {
            _monitors--;
        }
    }

    private async Task<IReadOnlyList<ProcessEvent>?> WatchOnceAsync(string tenant, long afterSeq, TimeSpan maxWait)
    {
        var deadline = time.GetTimestamp();
        while (true)
        {
            if (!Exists || Record.Tenant != tenant)
            {
                return null;
            }

            var events = Record.Events;
            if (events.Count > afterSeq)
            {
                if (Record.State.IsTerminal())
                {
                    Protocol.SpawnTrace.Mark("g.watch_ret", Npid);
                }

                return events.GetRange((int)Math.Max(afterSeq, 0), events.Count - (int)Math.Max(afterSeq, 0));
            }

            if (Record.State == ProcessState.Running && Record.Node is { } node && liveness.IsLost(node))
            {
                // This activation may not be the one the node-loss watcher reached (a silo died
                // and took the grain directory's entry with it): find out here, so a waiting
                // monitor is told within the liveness bound, not at the end of its poll.
                await MarkLostAsync(liveness.LostReason(node));
                continue;
            }

            var left = maxWait - time.GetElapsedTime(deadline);
            if (left <= TimeSpan.Zero || Record.State.IsTerminal())
            {
                return [];
            }

            // Woken in the mover's own turn (see MoveAsync); the timer of a wait that ends early is
            // dropped with it, not left to fire.
            await _changed.Task.WaitAsync(left < LivenessRecheck ? left : LivenessRecheck, time)
                .ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext | ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>How often a waiting monitor's call re-checks that the process's node is alive.</summary>
    private static readonly TimeSpan LivenessRecheck = TimeSpan.FromSeconds(1);

    public async Task SignalAsync(string tenant, int signal, CancellationToken ct)
    {
        if (!Exists || Record.Tenant != tenant)
        {
            throw await MissingAsync(tenant);
        }

        if (signal is < 1 or > 64)
        {
            throw NefeleException.Bad($"signal {signal} is not a signal (allowed: 1..64)");
        }

        if (Record.State != ProcessState.Running)
        {
            throw new NefeleException(ErrorCodes.NotRunning, $"process {Npid} is {Record.State}, not Running");
        }

        await GrainFactory.Get<INodeGrain>(Record.Node!).SignalAsync(Npid, signal);
    }

    public async Task TerminalInputAsync(string tenant, byte[] data, int rows, int columns, CancellationToken ct)
    {
        if (!Exists || Record.Tenant != tenant)
        {
            throw await MissingAsync(tenant);
        }

        if (Record.Spec is not { Tty: true })
        {
            throw NefeleException.Bad($"process {Npid} has no terminal (it was spawned without --tty): its output can be read, not typed into");
        }

        if (data.Length > Limits.MaxTerminalInputBytes)
        {
            throw NefeleException.Bad($"terminal input of {data.Length} bytes is too large (at most {Limits.MaxTerminalInputBytes} per call)");
        }

        if ((rows != 0 || columns != 0) && (rows is < 1 or > Limits.MaxTerminalSize || columns is < 1 or > Limits.MaxTerminalSize))
        {
            throw NefeleException.Bad($"window size {rows}x{columns} is not one (rows and columns 1..{Limits.MaxTerminalSize})");
        }

        if (Record.State != ProcessState.Running)
        {
            throw new NefeleException(ErrorCodes.NotRunning, $"process {Npid} is {Record.State}, not Running");
        }

        await GrainFactory.Get<INodeGrain>(Record.Node!).TerminalInputAsync(Npid, data, rows, columns);
    }

    public Task OnExitedAsync(ProcessEnd end)
    {
        Protocol.SpawnTrace.Mark("g.exit_in", Npid);
        if (!Exists || Record.State.IsTerminal())
        {
            // A replayed exit (hostd re-sends until acknowledged): already published once.
            return Task.CompletedTask;
        }

        return EndAsync(end);
    }

    public async Task<bool> AdoptAsync(string tenant, string node, ProcessSpec spec, int pid, DateTimeOffset startedAt)
    {
        if (Exists && Record.State == ProcessState.Running)
        {
            return true;
        }

        if (Exists && Record.State.IsTerminal())
        {
            // A replayed report of a process whose end is already recorded, or an orphan of a
            // node that was cut off and declared lost: its monitors were told, so it must go.
            logger.LogDebug("hostd on {Node} reports {Npid}, which already ended as {State}", node, Npid, Record.State);
            return false;
        }

        // The control plane lost this record (a restart with volatile storage) but the node
        // still runs the process: rebuild the record and replay the path that led here.
        if (!Exists)
        {
            if (await WasCollectedAsync(tenant))
            {
                // It ended and was collected past retention: an orphan of a node cut off meanwhile.
                logger.LogDebug("hostd on {Node} reports {Npid}, which ended and was collected", node, Npid);
                return false;
            }

            Record.Tenant = tenant;
            Record.Spec = spec;
            Record.CreatedAt = startedAt;
            await MoveAsync(ProcessState.Pending);
        }

        Record.Node = node;
        Record.Pid = pid;
        Record.StartedAt = startedAt;
        foreach (var next in new[] { ProcessState.Placed, ProcessState.Starting, ProcessState.Running })
        {
            if (ProcessStates.CanMove(Record.State, next))
            {
                await MoveAsync(next);
            }
        }

        await GrainFactory.Get<ITenantGrain>(tenant).AddAsync(Npid);
        return true;
    }

    public async Task<string> HoldNamesAsync(string tenant)
    {
        if (!Exists || Record.Tenant != tenant)
        {
            throw NefeleException.NotFound(Npid);
        }

        if (Record.State.IsTerminal() || Record.Node is not { } node)
        {
            throw new NefeleException(ErrorCodes.NotRunning, $"process {Npid} is {Record.State}: only a live process can hold a name");
        }

        if (!Record.HoldsNames)
        {
            // Persisted, so an activation that ends it after a restart (or a node loss) still tells the name service.
            Record.HoldsNames = true;
            await state.WriteStateAsync();
        }

        return node;
    }

    public Task MarkLostAsync(string reason)
    {
        if (!Exists || Record.State.IsTerminal())
        {
            return Task.CompletedTask;
        }

        return EndAsync(new ProcessEnd { State = ProcessState.Lost, Reason = reason, EndedAt = time.GetUtcNow() });
    }

    private async Task EndAsync(ProcessEnd end)
    {
        if (Record.Node is { } watchedNode)
        {
            liveness.Unwatch(watchedNode, Npid);
        }

        Record.End = end;
        await MoveAsync(end.State);
        await GrainFactory.Get<ITenantGrain>(Record.Tenant!).RemoveAsync(Npid);
        if (Record.HoldsNames)
        {
            await DropNamesAsync();
        }

        if (Record.Node is not null)
        {
            await ReleaseOnNodeAsync(Record.Node);
        }
    }

    /// <summary>
    /// The one place a state changes. Pending, Placed and Starting are not persisted: a silo
    /// that dies before Running leaves nothing for the request to find, and a process hostd
    /// did start is re-adopted from hostd's report. Running and every end are persisted.
    /// </summary>
    private async Task MoveAsync(ProcessState next)
    {
        if (Record.Events.Count > 0 && !ProcessStates.CanMove(Record.State, next))
        {
            throw new InvalidOperationException($"process {Npid}: {Record.State} → {next} is not a transition");
        }

        Record.State = next;
        Record.Events.Add(new ProcessEvent
        {
            Npid = Npid,
            Seq = Record.Events.Count + 1,
            State = next,
            Node = Record.Node,
            Pid = Record.Pid,
            End = next.IsTerminal() ? Record.End : null,
            At = time.GetUtcNow(),
        });

        // Wake monitors before the write: they read memory, and the write is for restarts. The
        // signal runs their continuations here, inline in this turn (the scheduler of this
        // activation lets its own continuations run on its thread), so a waiting watch answers
        // and its response is sent before anything below is awaited: no hop to the thread pool,
        // and no wait for this turn to yield after the write and the calls that follow it.
        var woken = _changed;
        _changed = NewSignal();
        var woke = _monitors > 0;
        woken.TrySetResult();
        if (next == ProcessState.Running && Record.Node is { } node)
        {
            liveness.Watch(node, Npid);
        }

        if (next is ProcessState.Running || next.IsTerminal())
        {
            Count(next);
            if (next.IsTerminal() && woke)
            {
                await LetAnswersGoFirstAsync();
            }

            await state.WriteStateAsync();
        }
    }

    /// <summary>
    /// Gives this thread up until the answers just sent have gone on. An answer to a monitor
    /// continues on the activation that asked (the watch relay) as a work item queued on this
    /// thread's own queue, which the pool runs newest first: the write and the tenant and node
    /// calls that end the process would queue theirs after it and run before it, one after
    /// another. The rest of the end resumes from the pool's shared queue instead, once this
    /// thread has run what is queued on its own.
    /// </summary>
    private static Task LetAnswersGoFirstAsync()
    {
        var resume = new TaskCompletionSource();
        ThreadPool.UnsafeQueueUserWorkItem(static r => r.TrySetResult(), resume, preferLocal: false);
        return resume.Task;
    }

    /// <summary>Its names and topics die with it (the common process holds none and never gets here).</summary>
    private async Task DropNamesAsync()
    {
        try
        {
            await GrainFactory.Get<Naming.INameServiceGrain>(Record.Tenant!).DropHolderAsync(Npid);
        }
        catch (Exception e)
        {
            // The end stands; a node's table still listing it is corrected by the next change or
            // by the node-loss check, and a send to it meets a mailbox that has ended.
            logger.LogWarning(e, "Could not drop the names of {Npid} from tenant {Tenant}'s name service", Npid, Record.Tenant);
        }
    }

    /// <summary>Frees what the process held on its node; a node that is gone holds nothing.</summary>
    private async Task ReleaseOnNodeAsync(string node)
    {
        try
        {
            await GrainFactory.Get<INodeGrain>(node).ReleaseAsync(Npid);
        }
        catch (NefeleException e) when (e.Code == ErrorCodes.NodeUnavailable)
        {
            logger.LogDebug("Node {Node} of {Npid} is unavailable; nothing to release", node, Npid);
        }
        catch (SiloUnavailableException)
        {
            logger.LogDebug("Node {Node} of {Npid} is unavailable; nothing to release", node, Npid);
        }
    }

    private void Count(ProcessState state)
    {
        var tenant = new KeyValuePair<string, object?>(Observability.Instruments.Attributes.Tenant, Record.Tenant);
        var node = new KeyValuePair<string, object?>(Observability.Instruments.Attributes.Node, Record.Node);
        if (state == ProcessState.Running)
        {
            Telemetry.Starts.Add(1, tenant, node);
            return;
        }

        var how = state switch
        {
            ProcessState.FailedToStart => "failed_to_start",
            ProcessState.Lost => "lost",
            _ when Record.End is { Signal: not 0 } or { ExitCode: not 0 } => "crashed",
            _ => "exited",
        };
        Telemetry.Ends.Add(1, new KeyValuePair<string, object?>(Observability.Instruments.Attributes.ProcessEnd, how), tenant, node);
    }

    private ProcessInfo Snapshot() => new()
    {
        Npid = Npid,
        Tenant = Record.Tenant!,
        Node = Record.Node,
        Pid = Record.Pid,
        State = Record.State,
        CpuMillis = Record.Spec!.CpuMillis,
        MemoryBytes = Record.Spec.MemoryBytes,
        CreatedAt = Record.CreatedAt,
        StartedAt = Record.StartedAt,
        Command = Record.Spec.CommandLine,
        Name = Record.Spec.Name,
        End = Record.End,
        Seq = Record.Events.Count,
        Container = Record.Container,
        Tty = Record.Spec.Tty,
    };

    private void RequireExists()
    {
        if (!Exists)
        {
            throw NefeleException.NotFound(Npid);
        }
    }

    /// <summary>
    /// A change signal whose waiters continue synchronously in the turn that sets it. Only
    /// <see cref="WatchOnceAsync"/> waits on it, and what it runs then is short: it finds the new
    /// events (or the record gone) and answers.
    /// </summary>
    private static TaskCompletionSource NewSignal() => new();
}
