using Nefele.Client;

namespace Nefele.Supervision;

/// <summary>
/// Runs a <see cref="SupervisorMachine"/>: watches every running child, and carries out the machine's
/// plans one at a time, as an OTP supervisor handles one exit message at a time. Children start one
/// after another in order and stop one after another in reverse order, each with its shutdown
/// (SIGTERM, wait its timeout, then SIGKILL; brutal_kill; infinity). The state is saved through the
/// host after every step, so a supervisor moved to another node resumes the plan it was in.
/// </summary>
public sealed class SupervisorRunner
{
    private readonly SupervisorMachine _machine;
    private readonly ISupervisorChildHost _host;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Lock _sync = new();
    private readonly Dictionary<string, Task<ChildExit>> _ends = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _life = new();
    private readonly TaskCompletionSource<string> _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>A runner for <paramref name="machine"/> whose children run through <paramref name="host"/>.</summary>
    public SupervisorRunner(SupervisorMachine machine, ISupervisorChildHost host, TimeProvider time)
    {
        _machine = machine;
        _host = host;
        _time = time;
    }

    /// <summary>Completes with the end reason once the supervisor has ended (gave up, or was stopped).</summary>
    public Task<string> Ended => _ended.Task;

    /// <summary>The supervisor as it is now.</summary>
    public SupervisorStatus Status()
    {
        lock (_sync)
        {
            return _machine.Status();
        }
    }

    /// <summary>
    /// Waits until the status is past <paramref name="afterVersion"/>, for at most <paramref name="maxWait"/>;
    /// answers the status then (unchanged when the wait ran out).
    /// </summary>
    public async Task<SupervisorStatus> WatchAsync(long afterVersion, TimeSpan maxWait, CancellationToken ct)
    {
        var deadline = _time.GetTimestamp();
        while (true)
        {
            Task changed;
            lock (_sync)
            {
                if (_machine.State.Version > afterVersion || _machine.State.Phase == SupervisorPhase.Ended)
                {
                    return _machine.Status();
                }

                changed = _changed.Task;
            }

            var left = maxWait - _time.GetElapsedTime(deadline);
            if (left <= TimeSpan.Zero)
            {
                return Status();
            }

            await changed.WaitAsync(left, _time, ct).ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext | ConfigureAwaitOptions.SuppressThrowing);
            ct.ThrowIfCancellationRequested();
        }
    }

    /// <summary>
    /// The first start: every child in order, each running before the next starts. A child that fails to
    /// start stops the start: those already started are stopped in reverse order, the supervisor ends, and
    /// <see cref="ErrorCodes.FailedToStart"/> is thrown with the child and the reason.
    /// </summary>
    public async Task StartAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            try
            {
                await ExecuteAsync(Locked(_machine.Start), failFast: true);
            }
            catch (StartFailure f)
            {
                var reason = $"child {f.Id} failed to start: {f.Reason}";
                await ExecuteAsync(Locked(() => _machine.GiveUp(reason)), failFast: false);
                throw new NefeleException(ErrorCodes.FailedToStart, $"supervisor {_machine.State.Name} did not start: {reason}");
            }

            Locked(_machine.Running);
            await SaveAsync();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Carries on from a saved state (the supervisor moved to another node): watches every child that ran,
    /// and finishes the plan that was under way (a start interrupted is retried with its request id).
    /// </summary>
    public async Task ResumeAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            foreach (var child in Locked(() => _machine.State.Children.Where(c => c.Reference is not null && c.Phase == ChildPhase.Running).ToList()))
            {
                Watch(child.Id, child.Reference!, _machine.SpecOf(child));
            }

            await ExecuteAsync(Locked(_machine.Resume), failFast: false);
            if (_machine.State.Phase == SupervisorPhase.Starting)
            {
                Locked(_machine.Running);
                await SaveAsync();
            }
        }
        finally
        {
            _gate.Release();
        }

        if (_machine.State.Phase == SupervisorPhase.Ended)
        {
            End();
        }
    }

    /// <summary>
    /// A pool's new size: new copies start in order, the newest ones beyond it stop in reverse order.
    /// When a new copy fails to start, the copies not started yet are dropped and
    /// <see cref="ErrorCodes.FailedToStart"/> is thrown (the pool keeps what runs).
    /// </summary>
    public async Task ResizeAsync(int size, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            RequireRunning();
            try
            {
                await ExecuteAsync(Locked(() => _machine.Resize(size)), failFast: true);
            }
            catch (StartFailure f)
            {
                Locked(_machine.DropUnstarted);
                await SaveAsync();
                throw new NefeleException(ErrorCodes.FailedToStart, $"supervisor {_machine.State.Name}: child {f.Id} failed to start: {f.Reason}");
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Stops every child in reverse order, each with its shutdown, and ends the supervisor.</summary>
    public async Task StopAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            if (_machine.State.Phase != SupervisorPhase.Ended)
            {
                await ExecuteAsync(Locked(_machine.StopAll), failFast: false);
            }
        }
        finally
        {
            _gate.Release();
        }

        End();
    }

    /// <summary>Stops watching (the host goes away; the children keep running and the saved state keeps them).</summary>
    public void Detach() => _life.Cancel();

    private void RequireRunning()
    {
        if (_machine.State.Phase == SupervisorPhase.Ended)
        {
            throw NefeleException.Bad($"supervisor {_machine.State.Name} has ended: {_machine.State.EndReason}");
        }
    }

    private async Task ExecuteAsync(SupervisorPlan plan, bool failFast)
    {
        while (!plan.IsEmpty)
        {
            foreach (var id in plan.Stop)
            {
                if (Locked(() => _machine.Find(id)) is not { Reference: { } reference } child)
                {
                    continue;
                }

                var spec = _machine.SpecOf(child);
                Locked(() => _machine.Stopping(id));
                await SaveAsync();
                await StopChildAsync(reference, spec);
                Locked(() => _machine.Stopped(id));
                await SaveAsync();
            }

            if (plan.GiveUp is { } reason)
            {
                Locked(() => _machine.End(reason));
                await SaveAsync();
                End();
                return;
            }

            var next = SupervisorPlan.None;
            foreach (var id in plan.Start)
            {
                if (Locked(() => _machine.Find(id)) is not { Phase: ChildPhase.Restarting } child)
                {
                    continue;
                }

                var spec = _machine.SpecOf(child);
                child.StartRequest ??= "sup." + Guid.NewGuid().ToString("N");
                await SaveAsync();
                string reference;
                try
                {
                    reference = await _host.StartAsync(spec, child.StartRequest, _life.Token);
                }
                catch (NefeleException e)
                {
                    if (failFast)
                    {
                        child.StartRequest = null;
                        throw new StartFailure(id, e.Message);
                    }

                    next = Locked(() => _machine.OnStartFailed(id, e.Message));
                    await SaveAsync();
                    break;
                }

                Locked(() => _machine.Started(id, reference));
                Watch(id, reference, spec);
                await SaveAsync();
            }

            plan = next;
        }
    }

    /// <summary>SIGTERM, wait the shutdown timeout, then SIGKILL; brutal_kill and infinity as OTP's.</summary>
    private async Task StopChildAsync(string reference, ChildSpec spec)
    {
        if (spec.Supervisor is not null)
        {
            await _host.StopSupervisorAsync(reference, CancellationToken.None);
            return;
        }

        var shutdown = Shutdown.Of(spec);
        var end = EndOf(reference, spec);
        if (shutdown.BrutalKill)
        {
            await SignalAsync(reference, Signals.SigKill);
        }
        else
        {
            await SignalAsync(reference, Signals.SigTerm);
            if (shutdown.Timeout is { } timeout)
            {
                using var wait = new CancellationTokenSource();
                var timer = Task.Delay(timeout, _time, wait.Token);
                if (await Task.WhenAny(end, timer) != end)
                {
                    await SignalAsync(reference, Signals.SigKill);
                }

                await wait.CancelAsync();
            }
        }

        await ((Task)end).ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext | ConfigureAwaitOptions.SuppressThrowing);
    }

    private Task<ChildExit> EndOf(string reference, ChildSpec spec)
    {
        lock (_sync)
        {
            if (_ends.TryGetValue(reference, out var end))
            {
                return end;
            }
        }

        return _host.WaitEndAsync(reference, spec, _life.Token);
    }

    private async Task SignalAsync(string reference, int signal)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await _host.SignalAsync(reference, signal, _life.Token);
                return;
            }
            catch (NefeleException e) when (e.Code is ErrorCodes.NotRunning or ErrorCodes.NpidNotFound or ErrorCodes.NodeUnavailable)
            {
                // It ended meanwhile, or its node is gone (it ends as lost): its end is what the stop waits for.
                return;
            }
            catch (Exception e) when (Errors.Transient.Is(e) && attempt < 5)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), _time, _life.Token);
            }
        }
    }

    private void Watch(string id, string reference, ChildSpec spec)
    {
        var end = _host.WaitEndAsync(reference, spec, _life.Token);
        lock (_sync)
        {
            _ends[reference] = end;
        }

        _ = ObserveAsync(id, reference, spec, end);
    }

    /// <summary>
    /// Waits for the end of a run and hands it to the machine. Only an end the child's record holds
    /// counts: a watch that fails (a silo died under it, a call timed out, the record's grain moved) says
    /// nothing about the child, which may well still run, so the child is watched again; restarting it
    /// then would run two copies. Only a child whose record is gone (npid_not_found) is taken as ended.
    /// </summary>
    private async Task ObserveAsync(string id, string reference, ChildSpec spec, Task<ChildExit> end)
    {
        ChildExit exit;
        for (var failures = 1; ; failures++)
        {
            try
            {
                exit = await end;
                break;
            }
            catch (OperationCanceledException) when (_life.IsCancellationRequested)
            {
                return;
            }
            catch (NefeleException e) when (e.Code == ErrorCodes.NpidNotFound)
            {
                exit = new ChildExit(true, "lost track of it: " + e.Message);
                break;
            }
            catch (Exception)
            {
                try
                {
                    await Task.Delay(RewatchDelay(failures), _time, _life.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                end = _host.WaitEndAsync(reference, spec, _life.Token);
                lock (_sync)
                {
                    if (_ends.ContainsKey(reference))
                    {
                        _ends[reference] = end;
                    }
                }
            }
        }

        lock (_sync)
        {
            _ends.Remove(reference);
        }

        if (_life.IsCancellationRequested)
        {
            return;
        }

        await _gate.WaitAsync();
        try
        {
            if (!_life.IsCancellationRequested)
            {
                await ExecuteAsync(Locked(() => _machine.OnExit(id, reference, exit)), failFast: false);
            }
        }
        catch (Exception) when (_life.IsCancellationRequested)
        {
            // The host went away meanwhile, or another activation took over (its write won): the saved
            // state carries on there.
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>How long a failed watch waits before watching again: 100 ms more each time, at most a second.</summary>
    private static TimeSpan RewatchDelay(int failures) => TimeSpan.FromMilliseconds(Math.Min(100 * failures, 1000));

    /// <summary>
    /// Writes the state before anything the step does outside (a start, a signal), so a step is taken
    /// only by the runner whose view is the stored one. A write the host refuses because the stored
    /// state moved on (<see cref="Orleans.Storage.InconsistentStateException"/>: another activation of
    /// the same supervisor wrote since this one read it) ends this runner at once: it stops watching
    /// and takes no further step, and the host carries on from the stored state.
    /// </summary>
    private async Task SaveAsync()
    {
        try
        {
            await _host.SaveAsync(_machine.State);
        }
        catch (Orleans.Storage.InconsistentStateException)
        {
            Detach();
            throw;
        }

        TaskCompletionSource changed;
        lock (_sync)
        {
            changed = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    private void End()
    {
        _ended.TrySetResult(_machine.State.EndReason ?? "stopped");
        _life.Cancel();
    }

    private T Locked<T>(Func<T> f)
    {
        lock (_sync)
        {
            return f();
        }
    }

    private void Locked(Action f)
    {
        lock (_sync)
        {
            f();
        }
    }

    private sealed class StartFailure(string id, string reason) : Exception(reason)
    {
        public string Id { get; } = id;

        public string Reason { get; } = reason;
    }
}
