using System.Globalization;
using Nefele.Client;

namespace Nefele.Supervision;

/// <summary>
/// The decisions of an OTP supervisor, with no I/O: which children to stop and start when one ends,
/// when to give up, how a pool grows and shrinks. Both supervisor kinds (the durable grain and the
/// program-local one) drive it through <see cref="SupervisorRunner"/>; it changes only
/// <see cref="State"/>, and reads time only from the <see cref="TimeProvider"/> it was given.
/// </summary>
public sealed class SupervisorMachine
{
    private readonly RestartIntensity _intensity;
    private readonly TimeProvider _time;

    /// <summary>A machine over <paramref name="state"/> (new, or restored from storage).</summary>
    public SupervisorMachine(SupervisorState state, TimeProvider time)
    {
        State = state;
        _time = time;
        Spec = state.GetSpec() ?? throw new ArgumentException("the state has no spec", nameof(state));
        _intensity = new RestartIntensity(Spec.MaxRestarts, TimeSpan.FromSeconds(Spec.PeriodSeconds), time);
        var now = time.GetUtcNow();
        _intensity.Restore(state.RestartTimes.Select(t => now - t));
        if (state.Children.Count == 0 && state.Phase == SupervisorPhase.Starting)
        {
            if (IsPool)
            {
                state.PoolSize = Spec.PoolSize;
                for (var i = 0; i < Spec.PoolSize; i++)
                {
                    state.Children.Add(NewPoolChild());
                }
            }
            else
            {
                state.Children.AddRange(Spec.Children.Select((c, i) => new ChildState { Id = c.Id, SpecIndex = i, Phase = ChildPhase.Restarting }));
            }
        }
    }

    /// <summary>The state it decides over.</summary>
    public SupervisorState State { get; }

    /// <summary>The spec it runs.</summary>
    public SupervisorSpec Spec { get; }

    private bool IsPool => Spec.Strategy == SupervisorStrategy.SimpleOneForOne;

    /// <summary>The spec of a child.</summary>
    public ChildSpec SpecOf(ChildState child) => Spec.Children[child.SpecIndex];

    /// <summary>The child of that id, or null.</summary>
    public ChildState? Find(string id) => State.Children.Find(c => c.Id == id);

    /// <summary>The first start: every child, in order.</summary>
    public SupervisorPlan Start() => new([], State.Children.Select(c => c.Id).ToArray());

    /// <summary>
    /// After a move to another node: stop what was being stopped, start what was being started, as the
    /// interrupted plan would have.
    /// </summary>
    public SupervisorPlan Resume() => State.Phase == SupervisorPhase.Ended ? SupervisorPlan.None : new(
        State.Children.Where(c => c.Reference is not null && c.Phase is ChildPhase.Restarting or ChildPhase.Stopping).Select(c => c.Id).Reverse().ToArray(),
        State.Children.Where(c => c.Phase == ChildPhase.Restarting).Select(c => c.Id).ToArray());

    /// <summary>The child runs as <paramref name="reference"/>.</summary>
    public void Started(string id, string reference)
    {
        var child = Find(id) ?? throw new InvalidOperationException($"no child {id}");
        child.Reference = reference;
        child.Phase = ChildPhase.Running;
        child.StartRequest = null;
        Changed();
    }

    /// <summary>The child is about to be stopped by the supervisor: its end is expected, not a failure.</summary>
    public void Stopping(string id)
    {
        if (Find(id) is { } child)
        {
            child.Reference = null;
            Changed();
        }
    }

    /// <summary>A stopped child that is not to start again is done with: a pool forgets it, others keep it as ended.</summary>
    public void Stopped(string id)
    {
        if (Find(id) is { Phase: ChildPhase.Stopping } child)
        {
            Retire(child);
        }
    }

    /// <summary>
    /// The child that ran as <paramref name="reference"/> ended. An end the supervisor caused, or of a
    /// run it no longer tracks, changes nothing.
    /// </summary>
    public SupervisorPlan OnExit(string id, string reference, ChildExit exit)
    {
        if (State.Phase == SupervisorPhase.Ended || Find(id) is not { } child || child.Reference != reference)
        {
            return SupervisorPlan.None;
        }

        child.Reference = null;
        return Ended(child, exit);
    }

    /// <summary>A start the plan asked for failed: an abnormal end of that child.</summary>
    public SupervisorPlan OnStartFailed(string id, string reason)
    {
        if (State.Phase == SupervisorPhase.Ended || Find(id) is not { } child)
        {
            return SupervisorPlan.None;
        }

        child.StartRequest = null;
        return Ended(child, ChildExit.FailedToStart(reason));
    }

    private SupervisorPlan Ended(ChildState child, ChildExit exit)
    {
        child.LastEnd = exit.Description;
        var restart = SpecOf(child).Restart switch
        {
            RestartType.Permanent => true,
            RestartType.Transient => exit.Abnormal,
            _ => false,
        };
        if (!restart)
        {
            Retire(child);
            return SupervisorPlan.None;
        }

        if (!_intensity.Add())
        {
            var reason = string.Create(CultureInfo.InvariantCulture,
                $"reached its restart intensity ({_intensity.Timestamps.Count} restarts within {Spec.PeriodSeconds} s, at most {Spec.MaxRestarts} allowed); the last: child {child.Id} {exit.Description}");
            return GiveUp(reason);
        }

        State.RestartTimes = [.. _intensity.Timestamps.Select(t => _time.GetUtcNow() - _time.GetElapsedTime(t))];
        var index = State.Children.IndexOf(child);
        var affected = Spec.Strategy switch
        {
            SupervisorStrategy.OneForAll => State.Children.ToList(),
            SupervisorStrategy.RestForOne => State.Children.Skip(index).ToList(),
            _ => [child],
        };

        // The others are stopped in reverse order; temporary ones are not started again (OTP).
        var stop = new List<string>();
        foreach (var other in affected.Where(c => c != child))
        {
            var temporary = SpecOf(other).Restart == RestartType.Temporary;
            if (other.Reference is not null)
            {
                other.Phase = temporary ? ChildPhase.Stopping : ChildPhase.Restarting;
                stop.Add(other.Id);
            }
            else if (!temporary)
            {
                other.Phase = ChildPhase.Restarting;
            }
        }

        stop.Reverse();
        child.Phase = ChildPhase.Restarting;
        var start = affected.Where(c => c.Phase == ChildPhase.Restarting).ToList();
        foreach (var c in start)
        {
            c.Restarts++;
            State.TotalRestarts++;
        }

        Changed();
        return new SupervisorPlan(stop, start.Select(c => c.Id).ToArray());
    }

    /// <summary>Gives up: every child is to be stopped in reverse order, and the supervisor ends with <paramref name="reason"/>.</summary>
    public SupervisorPlan GiveUp(string reason)
    {
        foreach (var c in State.Children.Where(c => c.Phase != ChildPhase.Ended))
        {
            c.Phase = ChildPhase.Stopping;
        }

        State.EndReason = reason;
        Changed();
        return new SupervisorPlan(State.Children.Where(c => c.Reference is not null).Select(c => c.Id).Reverse().ToArray(), [], reason);
    }

    /// <summary>The supervisor has stopped every child and ends.</summary>
    public void End(string reason)
    {
        foreach (var c in State.Children)
        {
            c.Reference = null;
            c.Phase = ChildPhase.Ended;
            c.StartRequest = null;
        }

        State.Phase = SupervisorPhase.Ended;
        State.EndReason = reason;
        Changed();
    }

    /// <summary>Every child started: the supervisor runs.</summary>
    public void Running()
    {
        State.Phase = SupervisorPhase.Running;
        Changed();
    }

    /// <summary>
    /// A pool's new size: the copies to add start in order, the newest copies beyond it stop in reverse
    /// order. Only for simple_one_for_one; the pool counts the copies that are not ended.
    /// </summary>
    public SupervisorPlan Resize(int size)
    {
        if (!IsPool)
        {
            throw NefeleException.Bad($"supervisor {State.Name} is {Validation.SupervisorSpecs.Wire(Spec.Strategy)}: only a simple_one_for_one pool can be resized");
        }

        Validation.SupervisorSpecs.ValidatePoolSize(size);
        State.PoolSize = size;
        var live = State.Children.Where(c => c.Phase is ChildPhase.Running or ChildPhase.Restarting).ToList();
        if (live.Count < size)
        {
            var added = Enumerable.Range(0, size - live.Count).Select(_ => NewPoolChild()).ToList();
            State.Children.AddRange(added);
            Changed();
            return new SupervisorPlan([], added.Select(c => c.Id).ToArray());
        }

        var removed = live.Skip(size).Reverse().ToList();
        foreach (var c in removed)
        {
            c.Phase = ChildPhase.Stopping;
        }

        Changed();
        return new SupervisorPlan(removed.Where(c => c.Reference is not null).Select(c => c.Id).ToArray(), []);
    }

    /// <summary>A pool's resize that failed: the new copies not started yet are dropped, and the size is what runs.</summary>
    public void DropUnstarted()
    {
        foreach (var c in State.Children.Where(c => c.Phase == ChildPhase.Restarting && c.Reference is null && c.Restarts == 0).ToList())
        {
            Retire(c);
        }

        State.PoolSize = State.Children.Count(c => c.Phase is ChildPhase.Running or ChildPhase.Restarting);
    }

    /// <summary>A stop of the whole supervisor: every child in reverse order.</summary>
    public SupervisorPlan StopAll() => GiveUp("stopped");

    /// <summary>The status callers read.</summary>
    public SupervisorStatus Status() => new()
    {
        Name = State.Name,
        Tenant = State.Tenant ?? string.Empty,
        Phase = State.Phase,
        Strategy = Spec.Strategy,
        Restarts = State.TotalRestarts,
        EndReason = State.EndReason,
        Version = State.Version,
        Spec = Spec,
        Children = State.Children.Select(c => new ChildStatus
        {
            Id = c.Id,
            Npid = c.Reference,
            Phase = c.Phase,
            Restarts = c.Restarts,
            LastEnd = c.LastEnd,
            Restart = SpecOf(c).Restart,
        }).ToArray(),
    };

    private void Retire(ChildState child)
    {
        child.Reference = null;
        child.StartRequest = null;
        child.Phase = ChildPhase.Ended;
        if (IsPool)
        {
            State.Children.Remove(child);
        }

        Changed();
    }

    private ChildState NewPoolChild() => new()
    {
        Id = string.Create(CultureInfo.InvariantCulture, $"{Spec.Children[0].Id}-{State.NextIndex++}"),
        SpecIndex = 0,
        Phase = ChildPhase.Restarting,
    };

    private void Changed() => State.Version++;
}
