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
/// </summary>
public sealed class SupervisorGrain(
    [PersistentState("supervisor", StorageNames.Default)] IPersistentState<SupervisorState> state,
    TimeProvider time,
    ILocalSiloDetails silo,
    ILogger<SupervisorGrain> logger) : Grain, ISupervisorGrain, ISupervisorChildHost
{
    /// <summary>How long one monitor call on a child waits before asking again.</summary>
    private static readonly TimeSpan WatchPoll = TimeSpan.FromSeconds(5);

    /// <summary>How many failed monitor calls in a row a watch rides out (about a minute with backoff) before the child counts as lost.</summary>
    private const int MaxTransientFailures = 60;

    private SupervisorRunner? _runner;

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

    public async Task<SupervisorStatus> ResizeAsync(int size, CancellationToken ct)
    {
        var runner = Runner();
        await runner.ResizeAsync(size, ct);
        return Here(runner.Status());
    }

    /// <summary>The status with the node this silo runs on.</summary>
    private SupervisorStatus Here(SupervisorStatus status) => status with { Node = silo.Name };

    public async Task<bool> DeleteAsync(CancellationToken ct)
    {
        if (!Exists)
        {
            return false;
        }

        await Runner().StopAsync(ct);
        await ForgetAsync();
        logger.LogInformation("Supervisor {Tenant}/{Name} deleted", Tenant, Name);
        return true;
    }

    public Task PingAsync() => Task.CompletedTask;

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
        catch (Exception e)
        {
            logger.LogError(e, "Supervisor {Tenant}/{Name} could not resume; it resumes when it next activates", Tenant, Name);
            DeactivateOnIdle();
        }
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
                catch (Exception e) when (Transient.Is(e) && ++failures <= MaxTransientFailures)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(100 * failures, 1000)), time, ct);
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
                        return ChildExit.Of(e.End!);
                    }
                }

                if (events.Count == 0 && await process.GetAsync(Tenant, ct) is { End: { } end } info && info.State.IsTerminal())
                {
                    // Recorded by another activation than the one this call reached (a silo died meanwhile).
                    return ChildExit.Of(end);
                }
            }
            catch (Exception e) when (Transient.Is(e) && ++failures <= MaxTransientFailures)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(100 * failures, 1000)), time, ct);
            }
        }
    }

    Task ISupervisorChildHost.SignalAsync(string reference, int signal, CancellationToken ct) =>
        GrainFactory.GetGrain<IProcessGrain>(reference).SignalAsync(Tenant, signal, ct);

    Task ISupervisorChildHost.StopSupervisorAsync(string reference, CancellationToken ct) =>
        GrainFactory.GetGrain<ISupervisorGrain>(Tenant + GrainKeys.Separator + reference).DeleteAsync(ct);

    Task ISupervisorChildHost.SaveAsync(SupervisorState saved) => state.WriteStateAsync();

    /// <summary>A nested supervisor's name: its parent's and its own id ("web.workers").</summary>
    private string NestedName(ChildSpec child) => Name + "." + child.Id;
}
