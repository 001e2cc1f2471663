using System.Collections.Concurrent;
using Nefele.Client;
using Nefele.Supervision;
using Orleans.Runtime;
using Orleans.Storage;

namespace Nefele.Grains.Tests.Unit;

/// <summary>
/// The runner against a host whose calls fail the way they do while a silo dies: a watch on a child
/// that fails says nothing about the child, so the child is watched again and not restarted; a state
/// write refused because another activation wrote first stops the runner before it takes the step.
/// The host here only scripts those answers; what the runner does with them is what is tested.
/// </summary>
public class SupervisorRunnerTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static readonly ProcessEnd Crash = new() { State = ProcessState.Exited, ExitCode = 1 };

    private static SupervisorState Pool(int size)
    {
        var state = new SupervisorState { Tenant = "t", Name = "pool" };
        state.SetSpec(new SupervisorSpec
        {
            Strategy = SupervisorStrategy.SimpleOneForOne,
            PoolSize = size,
            MaxRestarts = 10,
            PeriodSeconds = 60,
            Children = [new ChildSpec { Id = "w", Shutdown = "brutal_kill", Process = new ProcessSpec { Path = "/bin/sleep", Args = ["100"] } }],
        });
        return state;
    }

    private static async Task<(SupervisorRunner Runner, ScriptedHost Host)> RunningAsync(int size, Func<string, int, Exception?>? watchFailure = null)
    {
        var state = Pool(size);
        var host = new ScriptedHost { WatchFailure = watchFailure ?? ((_, _) => null) };
        var runner = new SupervisorRunner(new SupervisorMachine(state, TimeProvider.System), host, TimeProvider.System);
        await runner.StartAsync(CancellationToken.None).WaitAsync(Bound);
        return (runner, host);
    }

    /// <summary>The status once <paramref name="done"/> holds for it, read as it changes.</summary>
    private static async Task<SupervisorStatus> UntilAsync(SupervisorRunner runner, Func<SupervisorStatus, bool> done)
    {
        var status = runner.Status();
        while (!done(status))
        {
            status = await runner.WatchAsync(status.Version, Bound, CancellationToken.None);
        }

        return status;
    }

    [Fact]
    public async Task A_watch_that_fails_while_a_silo_dies_is_watched_again_and_the_running_child_is_not_restarted()
    {
        // The first three watches of every child fail as calls do while a silo dies (and one as nothing known).
        Exception[] failures = [new SiloUnavailableException(), new TimeoutException("no answer in time"), new InvalidOperationException("activation failed")];
        var (runner, host) = await RunningAsync(2, (_, attempt) => attempt <= failures.Length ? failures[attempt - 1] : null);
        var children = host.Started.ToArray();
        Assert.Equal(2, children.Length);

        foreach (var npid in children)
        {
            await host.WatchedAsync(npid, failures.Length + 1).WaitAsync(Bound);
        }

        Assert.Equal(children, host.Started);
        Assert.Equal(0, runner.Status().Restarts);
        Assert.Equal(children, runner.Status().Children.Select(c => c.Npid));

        // A real end of one of them still restarts it, once.
        host.End(children[0], ChildExit.Of(Crash));
        await host.StartedAsync(3).WaitAsync(Bound);
        var status = await UntilAsync(runner, s => s.Children.Any(c => c.Npid == host.Started[2])).WaitAsync(Bound);
        Assert.Equal(1, status.Restarts);
        Assert.Equal(3, host.Started.Count);
        Assert.Equal(new[] { children[1], host.Started[2] }, status.Children.Select(c => c.Npid).Order());
        runner.Detach();
    }

    [Fact]
    public async Task A_child_whose_record_is_gone_counts_as_ended_and_is_restarted()
    {
        var (runner, host) = await RunningAsync(1, (_, attempt) => attempt == 2 ? NefeleException.NotFound("gone") : null);
        var first = Assert.Single(host.Started);

        // The first watch ends with the watch's failure; the second learns the record is gone.
        host.Fail(first, new SiloUnavailableException());
        await host.StartedAsync(2).WaitAsync(Bound);
        var status = await UntilAsync(runner, s => s.Children.Single().Npid == host.Started[1]).WaitAsync(Bound);
        Assert.Equal(1, status.Restarts);
        Assert.StartsWith("lost track of it", status.Children.Single().LastEnd, StringComparison.Ordinal);
        runner.Detach();
    }

    [Fact]
    public async Task A_write_refused_because_another_activation_wrote_first_stops_the_runner_before_it_starts_anything()
    {
        var (runner, host) = await RunningAsync(2);
        var children = host.Started.ToArray();
        host.RefuseWrites = true;

        host.End(children[0], ChildExit.Of(Crash));
        await host.RefusedAsync().WaitAsync(Bound);

        // Stopping needs the step in progress to be over (one step at a time); its own write is refused too.
        await Assert.ThrowsAsync<InconsistentStateException>(() => runner.StopAsync(CancellationToken.None).WaitAsync(Bound));
        Assert.Equal(children, host.Started);
        Assert.Empty(host.Signals);
        Assert.True(host.WatchToken(children[1]).IsCancellationRequested, "the other child is still watched by a runner that was superseded");
    }

    /// <summary>Children that are numbers in memory; watches, ends and writes as a test scripts them.</summary>
    private sealed class ScriptedHost : ISupervisorChildHost
    {
        private readonly Lock _sync = new();
        private readonly ConcurrentDictionary<string, TaskCompletionSource<ChildExit>> _ends = new();
        private readonly ConcurrentDictionary<string, TaskCompletionSource<ChildExit>> _watches = new();
        private readonly ConcurrentDictionary<string, int> _watchCount = new();
        private readonly ConcurrentDictionary<string, CancellationToken> _watchTokens = new();
        private readonly List<(Func<bool> Done, TaskCompletionSource Signal)> _waiters = [];
        private int _refused;

        public required Func<string, int, Exception?> WatchFailure { get; init; }

        public List<string> Started { get; } = [];

        public ConcurrentQueue<(string Npid, int Signal)> Signals { get; } = new();

        public volatile bool RefuseWrites;

        public Task<string> StartAsync(ChildSpec child, string requestId, CancellationToken ct)
        {
            lock (_sync)
            {
                var npid = $"p{Started.Count + 1}";
                _ends[npid] = new(TaskCreationOptions.RunContinuationsAsynchronously);
                Started.Add(npid);
                Poke();
                return Task.FromResult(npid);
            }
        }

        public Task<ChildExit> WaitEndAsync(string reference, ChildSpec child, CancellationToken ct)
        {
            var attempt = _watchCount.AddOrUpdate(reference, 1, (_, n) => n + 1);
            _watchTokens[reference] = ct;
            lock (_sync)
            {
                Poke();
            }

            if (WatchFailure(reference, attempt) is { } failure)
            {
                return Task.FromException<ChildExit>(failure);
            }

            var watch = _watches[reference] = new(TaskCreationOptions.RunContinuationsAsynchronously);
            return Task.WhenAny(watch.Task, _ends[reference].Task).Unwrap().WaitAsync(ct);
        }

        public Task SignalAsync(string reference, int signal, CancellationToken ct)
        {
            Signals.Enqueue((reference, signal));
            return Task.CompletedTask;
        }

        public Task StopSupervisorAsync(string reference, CancellationToken ct) => Task.CompletedTask;

        public Task SaveAsync(SupervisorState state)
        {
            if (!RefuseWrites)
            {
                return Task.CompletedTask;
            }

            lock (_sync)
            {
                _refused++;
                Poke();
            }

            return Task.FromException(new InconsistentStateException("another activation wrote first", "e2", "e1"));
        }

        /// <summary>The child's run ends.</summary>
        public void End(string npid, ChildExit exit) => _ends[npid].TrySetResult(exit);

        /// <summary>The watch under way fails (the run goes on).</summary>
        public void Fail(string npid, Exception e) => _watches[npid].TrySetException(e);

        public CancellationToken WatchToken(string npid) => _watchTokens[npid];

        public Task WatchedAsync(string npid, int times) => When(() => _watchCount.GetValueOrDefault(npid) >= times);

        public Task StartedAsync(int count) => When(() => Started.Count >= count);

        public Task RefusedAsync() => When(() => _refused > 0);

        private Task When(Func<bool> done)
        {
            lock (_sync)
            {
                if (done())
                {
                    return Task.CompletedTask;
                }

                var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiters.Add((done, signal));
                return signal.Task;
            }
        }

        private void Poke()
        {
            foreach (var w in _waiters.Where(w => w.Done()).ToList())
            {
                _waiters.Remove(w);
                w.Signal.TrySetResult();
            }
        }
    }
}
