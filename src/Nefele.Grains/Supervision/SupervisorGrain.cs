using System.Text.Json;
using Microsoft.Extensions.Logging;
using Nefele.Client;
using Nefele.Errors;
using Nefele.Placement;
using Nefele.Processes;
using Nefele.Validation;
using Orleans.Runtime;

namespace Nefele.Supervision;

/// <summary>
/// The durable supervisor. Its children are watched with the process grains' own monitor calls
/// (one long poll per child, answered the moment the child's end is recorded), and its state is
/// written after every step of a plan. It stays active while it supervises (its deactivation is delayed
/// without end; an ended or deleted one is collected as any idle grain); when its silo dies, the
/// <see cref="SupervisorKeeper"/> of a surviving silo pings it, it activates there from its state,
/// resumes the plan it was in and watches its children again — ends it missed are answered at once.
/// <para>
/// Orleans may run two activations of it for a while when a silo dies: the silo that held its grain
/// directory entry takes the entry with it, the activation that runs is deactivated for that (even on
/// a live node), and a call or the keeper's wake activates another from the stored state meanwhile.
/// The stored state decides which one acts: every step is written before it is taken, a write is
/// refused when the stored state moved on since this activation read it (the storage's etag), and an
/// activation whose write is refused stops that step and every watch, reads the state again and
/// resumes from it. So a child is started only by the activation that holds the current state, and
/// a start retried after such a change reuses its request id, which answers the same process.
/// </para>
/// </summary>
public sealed class SupervisorGrain(
    [PersistentState("supervisor", StorageNames.Default)] IPersistentState<SupervisorState> state,
    TimeProvider time,
    ILocalSiloDetails silo,
    ILogger<SupervisorGrain> logger) : Grain, ISupervisorGrain, ISupervisorChildHost
{
    /// <summary>How long one monitor call on a child waits before asking again.</summary>
    private static readonly TimeSpan WatchPoll = TimeSpan.FromSeconds(5);

    private SupervisorRunner? _runner;

    /// <summary>The runner whose write was refused, while the state is read again for its successor.</summary>
    private SupervisorRunner? _superseded;

    /// <summary>The last read of the state again (see <see cref="ReloadAsync"/>).</summary>
    private Task? _reload;

    private bool _deactivating;

    private string Key => this.GetPrimaryKeyString();

    private string Tenant => GrainKeys.TenantOf(Key) ?? throw NefeleException.Bad($"'{Names.Shorten(Key)}' is not a supervisor key (tenant/name)");

    private string Name => Key[(Key.IndexOf(GrainKeys.Separator, StringComparison.Ordinal) + 1)..];

    private bool Exists => state.State.SpecJson is not null;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (Exists)
        {
            _runner = NewRunner();
            _ = ResumeAsync(_runner);
        }

        return base.OnActivateAsync(cancellationToken);
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _deactivating = true;
        _runner?.Detach();
        return base.OnDeactivateAsync(reason, cancellationToken);
    }

    public async Task<SupervisorStatus> CreateAsync(SupervisorSpec spec, CancellationToken ct)
    {
        SupervisorSpecs.Validate(spec);
        if (Exists && state.State.Phase != SupervisorPhase.Ended)
        {
            return Same(spec, state.State.GetSpec()!) ? Here(_runner!.Status())
                : throw new NefeleException(ErrorCodes.SupervisorExists, $"supervisor {Name} exists already in tenant {Tenant} with another spec; delete it first");
        }

        _runner?.Detach();
        this.DelayDeactivation(TimeSpan.MaxValue);
        state.State = new SupervisorState { Tenant = Tenant, Name = Name };
        state.State.SetSpec(spec);
        await GrainFactory.GetGrain<ISupervisorDirectoryGrain>(Tenant).AddAsync(Name);
        await state.WriteStateAsync(CancellationToken.None);
        var runner = _runner = NewRunner();
        try
        {
            await runner.StartAsync(ct);
        }
        catch (NefeleException)
        {
            await ForgetAsync();
            throw;
        }

        logger.LogInformation("Supervisor {Tenant}/{Name} started {Count} children ({Strategy})", Tenant, Name, runner.Status().Children.Count, spec.Strategy.Wire());
        _ = EndedAsync(runner);
        return Here(runner.Status());
    }

    public Task<SupervisorStatus> GetAsync(CancellationToken ct) => Task.FromResult(Here(Runner().Status()));

    public async Task<SupervisorStatus> WatchAsync(long afterVersion, TimeSpan maxWait, CancellationToken ct) =>
        Here(await Runner().WatchAsync(afterVersion, maxWait < Limits.MaxLogWait ? maxWait : Limits.MaxLogWait, ct));

    public Task<SupervisorStatus> ResizeAsync(int size, CancellationToken ct) => OnCurrentStateAsync(async runner =>
    {
        await runner.ResizeAsync(size, ct);
        return Here(runner.Status());
    });

    /// <summary>The status with the node this silo runs on.</summary>
    private SupervisorStatus Here(SupervisorStatus status) => status with { Node = silo.Name };

    public async Task<bool> DeleteAsync(CancellationToken ct)
    {
        if (!Exists)
        {
            return false;
        }

        await OnCurrentStateAsync(async runner =>
        {
            await runner.StopAsync(ct);
            return true;
        });
        await ForgetAsync();
        logger.LogInformation("Supervisor {Tenant}/{Name} deleted", Tenant, Name);
        return true;
    }

    public Task PingAsync() => Task.CompletedTask;

    /// <summary>
    /// A caller's step, taken by the runner of the current state: when its write is refused (another
    /// activation wrote first), it is taken again once this activation has read the state again.
    /// </summary>
    private async Task<T> OnCurrentStateAsync<T>(Func<SupervisorRunner, Task<T>> step)
    {
        for (var attempt = 1; ; attempt++)
        {
            var runner = Runner();
            try
            {
                return await step(runner);
            }
            catch (Orleans.Storage.InconsistentStateException) when (attempt < 3 && _reload is { } reload)
            {
                await reload;
            }
        }
    }

    private SupervisorRunner Runner() => _runner ?? throw new NefeleException(ErrorCodes.SupervisorNotFound, $"no supervisor {Name} in tenant {Tenant}");

    private SupervisorRunner NewRunner() => new(new SupervisorMachine(state.State, time), this, time);

    private async Task ResumeAsync(SupervisorRunner runner)
    {
        if (state.State.Phase == SupervisorPhase.Ended)
        {
            // Activated to be read (or woken): it has nothing to supervise.
            return;
        }

        this.DelayDeactivation(TimeSpan.MaxValue);
        try
        {
            logger.LogInformation("Supervisor {Tenant}/{Name} resumes on this silo", Tenant, Name);
            await runner.ResumeAsync(CancellationToken.None);
            _ = EndedAsync(runner);
        }
        catch (Exception) when (!ReferenceEquals(runner, _runner) || ReferenceEquals(runner, _superseded) || _deactivating)
        {
            // Superseded (another activation wrote first: this one reads the state again) or going away.
        }
        catch (Exception e)
        {
            logger.LogError(e, "Supervisor {Tenant}/{Name} could not resume; it resumes when it next activates", Tenant, Name);
            DeactivateOnIdle();
        }
    }

    /// <summary>
    /// The runner's write was refused: another activation of this supervisor wrote its state since this
    /// one read it. The runner has stopped (no further step, no watch); the state is read again and a new
    /// runner resumes from it, so this activation acts again only on the current state.
    /// </summary>
    private async Task ReloadAsync(SupervisorRunner stale, Exception refused)
    {
        logger.LogWarning("Supervisor {Tenant}/{Name}: its stored state moved on under this activation ({Reason}); it stops its steps and resumes from the stored state", Tenant, Name, refused.Message);
        try
        {
            await state.ReadStateAsync();
        }
        catch (Exception e)
        {
            logger.LogError(e, "Supervisor {Tenant}/{Name} could not read its state again; it resumes when it next activates", Tenant, Name);
            DeactivateOnIdle();
            return;
        }
        finally
        {
            _superseded = null;
        }

        if (!ReferenceEquals(stale, _runner) || _deactivating)
        {
            return;
        }

        if (!Exists)
        {
            // Deleted by the other activation.
            _runner = null;
            this.DelayDeactivation(TimeSpan.Zero);
            return;
        }

        var runner = _runner = NewRunner();
        await ResumeAsync(runner);
    }

    private async Task EndedAsync(SupervisorRunner runner)
    {
        var reason = await runner.Ended;
        if (ReferenceEquals(runner, _runner) && Exists)
        {
            logger.LogWarning("Supervisor {Tenant}/{Name} ended: {Reason}", Tenant, Name, reason);

            // Nothing left to supervise: collected when idle, read from storage when asked for.
            this.DelayDeactivation(TimeSpan.Zero);
        }
    }

    private async Task ForgetAsync()
    {
        _runner?.Detach();
        _runner = null;
        await state.ClearStateAsync();
        state.State = new SupervisorState();
        await GrainFactory.GetGrain<ISupervisorDirectoryGrain>(Tenant).RemoveAsync(Name);
        this.DelayDeactivation(TimeSpan.Zero);
    }

    private static bool Same(SupervisorSpec a, SupervisorSpec b) => JsonSerializer.Serialize(a) == JsonSerializer.Serialize(b);

    // The children, through the silo's grains, in the supervisor's tenant.
    async Task<string> ISupervisorChildHost.StartAsync(ChildSpec child, string requestId, CancellationToken ct)
    {
        if (child.Supervisor is { } nested)
        {
            var name = NestedName(child);
            await GrainFactory.GetGrain<ISupervisorGrain>(Tenant + GrainKeys.Separator + name).CreateAsync(nested, ct);
            return name;
        }

        var result = await GrainFactory.GetGrain<IPlacementRequestGrain>(GrainKeys.PlacementRequest(Tenant, requestId))
            .SubmitAsync(new SpawnRequest { Tasks = [child.Process!], Count = 1 }, ct);
        if (result.FailedToStart.Count > 0)
        {
            throw new NefeleException(ErrorCodes.FailedToStart, result.FailedToStart.First().Value);
        }

        logger.LogInformation("Supervisor {Tenant}/{Name}: child {Id} runs as {Npid} (request {Request})", Tenant, Name, child.Id, result.Npids[0], requestId);
        return result.Npids[0];
    }

    async Task<ChildExit> ISupervisorChildHost.WaitEndAsync(string reference, ChildSpec child, CancellationToken ct)
    {
        var failures = 0;
        if (child.Supervisor is not null)
        {
            var nested = GrainFactory.GetGrain<ISupervisorGrain>(Tenant + GrainKeys.Separator + reference);
            long version = 0;
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                try
                {
                    var status = await nested.WatchAsync(version, WatchPoll, ct);
                    if (status.Phase == SupervisorPhase.Ended)
                    {
                        return ChildExit.SupervisorEnded(status.EndReason);
                    }

                    version = status.Version;
                    failures = 0;
                }
                catch (NefeleException e) when (e.Code == ErrorCodes.SupervisorNotFound)
                {
                    return ChildExit.SupervisorEnded("deleted");
                }
                catch (Exception e) when (Transient.Is(e))
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(100 * ++failures, 1000)), time, ct);
                }
            }
        }

        var process = GrainFactory.GetGrain<IProcessGrain>(reference);
        long seq = 0;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                var events = await process.WatchAsync(Tenant, seq, WatchPoll) ?? throw NefeleException.NotFound(reference);
                failures = 0;
                foreach (var e in events)
                {
                    seq = e.Seq;
                    if (e.State.IsTerminal())
                    {
                        return Ended(reference, ChildExit.Of(e.End!));
                    }
                }

                if (events.Count == 0 && await process.GetAsync(Tenant, ct) is { End: { } end } info && info.State.IsTerminal())
                {
                    // Recorded by another activation than the one this call reached (a silo died meanwhile).
                    return Ended(reference, ChildExit.Of(end));
                }
            }
            catch (Exception e) when (Transient.Is(e))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(100 * ++failures, 1000)), time, ct);
            }
        }
    }

    Task ISupervisorChildHost.SignalAsync(string reference, int signal, CancellationToken ct) =>
        GrainFactory.GetGrain<IProcessGrain>(reference).SignalAsync(Tenant, signal, ct);

    Task ISupervisorChildHost.StopSupervisorAsync(string reference, CancellationToken ct) =>
        GrainFactory.GetGrain<ISupervisorGrain>(Tenant + GrainKeys.Separator + reference).DeleteAsync(ct);

    async Task ISupervisorChildHost.SaveAsync(SupervisorState saved)
    {
        var runner = _runner;
        try
        {
            if (!ReferenceEquals(saved, state.State))
            {
                // A runner that was replaced (its state object is no longer this grain's) takes no step.
                throw new Orleans.Storage.InconsistentStateException("the supervisor's state was read again since this runner started");
            }

            await state.WriteStateAsync();
        }
        catch (Orleans.Storage.InconsistentStateException e) when (runner is not null && ReferenceEquals(saved, state.State) && _superseded is null)
        {
            _superseded = runner;
            _reload = ReloadAsync(runner, e);
            throw;
        }
    }

    /// <summary>The end of a child's run, as the supervisor learnt it (logged: the trail of every restart).</summary>
    private ChildExit Ended(string reference, ChildExit exit)
    {
        logger.LogInformation("Supervisor {Tenant}/{Name}: child {Npid} ended: {End}", Tenant, Name, reference, exit.Description);
        return exit;
    }

    /// <summary>A nested supervisor's name: its parent's and its own id ("web.workers").</summary>
    private string NestedName(ChildSpec child) => Name + "." + child.Id;
}
