using Nefele.Client;
using Nefele.Supervision;
using Nefele.Validation;

namespace Nefele.Grains.Tests.Unit;

/// <summary>
/// The supervision engine's decisions against OTP's rules (the supervisor behaviour's documentation):
/// which children a strategy stops and starts and in what order, when each restart type restarts,
/// and the restart intensity on a clock the test moves. Expected orders are written from those
/// rules, not read from the machine.
/// </summary>
public class SupervisorMachineTests
{
    private static readonly ProcessSpec Sleep = new() { Path = "/bin/sleep", Args = ["100"] };

    private static ChildSpec Child(string id, RestartType restart = RestartType.Permanent) => new() { Id = id, Restart = restart, Process = Sleep };

    private static readonly ProcessEnd Crash = new() { State = ProcessState.Exited, ExitCode = 1 };

    private static (SupervisorMachine Machine, ManualClock Clock) Running(SupervisorSpec spec, ManualClock? clock = null)
    {
        clock ??= new ManualClock();
        var machine = new SupervisorMachine(new SupervisorState { Tenant = "t", Name = "s", Spec = spec }, clock);
        foreach (var id in machine.Start().Start)
        {
            machine.Started(id, "npid-" + id);
        }

        machine.Running();
        return (machine, clock);
    }

    private static SupervisorSpec Three(SupervisorStrategy strategy, int maxRestarts = 10) => new()
    {
        Strategy = strategy,
        MaxRestarts = maxRestarts,
        Children = [Child("a"), Child("b"), Child("c")],
    };

    [Fact]
    public void Children_start_in_declared_order()
    {
        var machine = new SupervisorMachine(new SupervisorState { Name = "s", Spec = Three(SupervisorStrategy.OneForOne) }, new ManualClock());
        Assert.Equal(["a", "b", "c"], machine.Start().Start);
    }

    [Fact]
    public void One_for_one_restarts_only_the_child_that_ended()
    {
        var (m, _) = Running(Three(SupervisorStrategy.OneForOne));
        var plan = m.OnExit("b", "npid-b", ChildExit.Of(Crash));
        Assert.Empty(plan.Stop);
        Assert.Equal(["b"], plan.Start);
        Assert.Equal(1, m.Find("b")!.Restarts);
        Assert.Equal(0, m.Find("a")!.Restarts);
    }

    [Fact]
    public void One_for_all_stops_the_others_in_reverse_order_then_starts_all_in_order()
    {
        var (m, _) = Running(Three(SupervisorStrategy.OneForAll));
        var plan = m.OnExit("b", "npid-b", ChildExit.Of(Crash));
        Assert.Equal(["c", "a"], plan.Stop);
        Assert.Equal(["a", "b", "c"], plan.Start);
    }

    [Fact]
    public void Rest_for_one_stops_the_later_ones_in_reverse_order_then_starts_from_the_one_that_ended()
    {
        var (m, _) = Running(new SupervisorSpec
        {
            Strategy = SupervisorStrategy.RestForOne,
            MaxRestarts = 10,
            Children = [Child("a"), Child("b"), Child("c"), Child("d")],
        });
        var plan = m.OnExit("b", "npid-b", ChildExit.Of(Crash));
        Assert.Equal(["d", "c"], plan.Stop);
        Assert.Equal(["b", "c", "d"], plan.Start);
        Assert.Equal(0, m.Find("a")!.Restarts);
    }

    [Theory]
    [InlineData(ProcessState.Exited, 0, 0, false)]
    [InlineData(ProcessState.Exited, 3, 0, true)]
    [InlineData(ProcessState.Exited, -1, 15, false)] // SIGTERM: the shutdown's own signal
    [InlineData(ProcessState.Exited, -1, 9, true)]
    [InlineData(ProcessState.Exited, -1, 11, true)]
    [InlineData(ProcessState.Lost, -1, 0, true)]
    [InlineData(ProcessState.FailedToStart, -1, 0, true)]
    public void Transient_restarts_only_after_an_abnormal_end(ProcessState state, int exitCode, int signal, bool restarted)
    {
        var (m, _) = Running(new SupervisorSpec { MaxRestarts = 10, Children = [Child("t", RestartType.Transient)] });
        var plan = m.OnExit("t", "npid-t", ChildExit.Of(new ProcessEnd { State = state, ExitCode = exitCode, Signal = signal }));
        Assert.Equal(restarted ? ["t"] : Array.Empty<string>(), plan.Start);
        Assert.Equal(restarted ? ChildPhase.Restarting : ChildPhase.Ended, m.Find("t")!.Phase);
    }

    [Fact]
    public void Permanent_restarts_after_a_normal_end_and_temporary_never()
    {
        var (m, _) = Running(new SupervisorSpec { MaxRestarts = 10, Children = [Child("p"), Child("t", RestartType.Temporary)] });
        var normal = ChildExit.Of(new ProcessEnd { State = ProcessState.Exited, ExitCode = 0 });
        Assert.Equal(["p"], m.OnExit("p", "npid-p", normal).Start);
        Assert.True(m.OnExit("t", "npid-t", ChildExit.Of(Crash)).IsEmpty);
        Assert.Equal(ChildPhase.Ended, m.Find("t")!.Phase);
    }

    [Fact]
    public void A_temporary_child_stopped_by_a_siblings_restart_is_not_started_again()
    {
        var (m, _) = Running(new SupervisorSpec
        {
            Strategy = SupervisorStrategy.OneForAll,
            MaxRestarts = 10,
            Children = [Child("a"), Child("tmp", RestartType.Temporary), Child("c")],
        });
        var plan = m.OnExit("c", "npid-c", ChildExit.Of(Crash));
        Assert.Equal(["tmp", "a"], plan.Stop);
        Assert.Equal(["a", "c"], plan.Start);
        Assert.Equal(ChildPhase.Stopping, m.Find("tmp")!.Phase);
    }

    [Fact]
    public void An_end_of_a_run_the_supervisor_stopped_or_replaced_changes_nothing()
    {
        var (m, _) = Running(Three(SupervisorStrategy.OneForOne));
        m.Stopping("a");
        Assert.True(m.OnExit("a", "npid-a", ChildExit.Of(Crash)).IsEmpty);
        Assert.True(m.OnExit("b", "some-older-run", ChildExit.Of(Crash)).IsEmpty);
    }

    [Fact]
    public void Default_intensity_allows_one_restart_in_five_seconds_and_gives_up_on_the_second()
    {
        var (m, clock) = Running(new SupervisorSpec { Children = [Child("a")] });
        Assert.Equal(["a"], m.OnExit("a", "npid-a", ChildExit.Of(Crash)).Start);
        m.Started("a", "npid-a2");
        clock.Advance(TimeSpan.FromSeconds(4.9));
        var plan = m.OnExit("a", "npid-a2", ChildExit.Of(Crash));
        Assert.NotNull(plan.GiveUp);
        Assert.Contains("restart intensity", plan.GiveUp, StringComparison.Ordinal);
        Assert.Empty(plan.Start);
    }

    [Fact]
    public void Restarts_older_than_the_period_are_forgiven()
    {
        var (m, clock) = Running(new SupervisorSpec { Children = [Child("a")] });
        Assert.Null(m.OnExit("a", "npid-a", ChildExit.Of(Crash)).GiveUp);
        m.Started("a", "npid-a2");
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.Null(m.OnExit("a", "npid-a2", ChildExit.Of(Crash)).GiveUp);
    }

    [Fact]
    public void Intensity_counts_monotonic_time_not_the_wall_clock()
    {
        var (m, clock) = Running(new SupervisorSpec { Children = [Child("a")] });
        m.OnExit("a", "npid-a", ChildExit.Of(Crash));
        m.Started("a", "npid-a2");
        clock.JumpWallClock(TimeSpan.FromHours(1));
        Assert.NotNull(m.OnExit("a", "npid-a2", ChildExit.Of(Crash)).GiveUp);
    }

    [Fact]
    public void Giving_up_stops_every_running_child_in_reverse_order()
    {
        var (m, _) = Running(Three(SupervisorStrategy.OneForOne, maxRestarts: 0));
        var plan = m.OnExit("b", "npid-b", ChildExit.Of(Crash));
        Assert.Equal(["c", "a"], plan.Stop);
        Assert.NotNull(plan.GiveUp);
    }

    [Fact]
    public void A_supervisor_moved_to_another_node_keeps_its_recent_restarts()
    {
        var (m, clock) = Running(new SupervisorSpec { Children = [Child("a")] });
        m.OnExit("a", "npid-a", ChildExit.Of(Crash));
        m.Started("a", "npid-a2");

        // Another node: another monotonic clock, the same wall clock a second later.
        var elsewhere = new ManualClock(start: 987_654_321, wall: clock.GetUtcNow() + TimeSpan.FromSeconds(1));
        var moved = new SupervisorMachine(m.State, elsewhere);
        Assert.NotNull(moved.OnExit("a", "npid-a2", ChildExit.Of(Crash)).GiveUp);
    }

    [Fact]
    public void A_pool_starts_its_size_and_resizes_up_in_order_and_down_newest_first()
    {
        var (m, _) = Running(new SupervisorSpec { Strategy = SupervisorStrategy.SimpleOneForOne, PoolSize = 2, Children = [Child("w")] });
        Assert.Equal(["w-1", "w-2"], m.State.Children.Select(c => c.Id));

        var up = m.Resize(4);
        Assert.Equal(["w-3", "w-4"], up.Start);
        foreach (var id in up.Start)
        {
            m.Started(id, "npid-" + id);
        }

        var down = m.Resize(1);
        Assert.Equal(["w-4", "w-3", "w-2"], down.Stop);
        foreach (var id in down.Stop)
        {
            m.Stopping(id);
            m.Stopped(id);
        }

        Assert.Equal(["w-1"], m.State.Children.Select(c => c.Id));
    }

    [Fact]
    public void A_pool_restarts_each_child_on_its_own_and_forgets_a_temporary_one_that_ended()
    {
        var (m, _) = Running(new SupervisorSpec { Strategy = SupervisorStrategy.SimpleOneForOne, MaxRestarts = 5, PoolSize = 3, Children = [Child("w", RestartType.Temporary)] });
        Assert.True(m.OnExit("w-2", "npid-w-2", ChildExit.Of(Crash)).IsEmpty);
        Assert.Equal(["w-1", "w-3"], m.State.Children.Select(c => c.Id));
    }

    [Fact]
    public void Only_a_pool_can_be_resized()
    {
        var (m, _) = Running(Three(SupervisorStrategy.OneForOne));
        var e = Assert.Throws<NefeleException>(() => m.Resize(2));
        Assert.Equal(ErrorCodes.BadRequest, e.Code);
        Assert.Contains("simple_one_for_one", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("brutal_kill", true, -1)]
    [InlineData("infinity", false, -1)]
    [InlineData("5s", false, 5000)]
    [InlineData("250ms", false, 250)]
    public void Shutdown_parses_otps_forms(string text, bool brutal, int timeoutMs)
    {
        var s = Shutdown.Parse(text)!.Value;
        Assert.Equal(brutal, s.BrutalKill);
        Assert.Equal(timeoutMs < 0 ? null : TimeSpan.FromMilliseconds(timeoutMs), s.Timeout);
    }

    [Theory]
    [InlineData("5")]
    [InlineData("-1s")]
    [InlineData("0ms")]
    [InlineData("2h")]
    [InlineData("brutal")]
    public void A_bad_shutdown_is_a_bad_request_naming_it(string text)
    {
        var e = Assert.Throws<NefeleException>(() => Shutdown.Parse(text));
        Assert.Equal(ErrorCodes.BadRequest, e.Code);
        Assert.Contains($"'{text}'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Defaults_are_otps()
    {
        var spec = new SupervisorSpec();
        Assert.Equal((1, 5), (spec.MaxRestarts, spec.PeriodSeconds));
        Assert.Equal(TimeSpan.FromSeconds(5), Shutdown.Of(Child("a")).Timeout);
        Assert.True(Shutdown.Of(new ChildSpec { Id = "s", Supervisor = new SupervisorSpec() }).IsInfinity);
    }

    [Fact]
    public void Spec_errors_name_the_child_and_what_is_allowed()
    {
        Assert.Contains("children[1]: id 'a' is used by another child",
            Assert.Throws<NefeleException>(() => SupervisorSpecs.Validate(new SupervisorSpec { Children = [Child("a"), Child("a")] })).Message, StringComparison.Ordinal);
        Assert.Contains("exactly one child",
            Assert.Throws<NefeleException>(() => SupervisorSpecs.Validate(new SupervisorSpec { Strategy = SupervisorStrategy.SimpleOneForOne, Children = [Child("a"), Child("b")] })).Message, StringComparison.Ordinal);
        Assert.Contains("children[0]: give exactly one of process and supervisor",
            Assert.Throws<NefeleException>(() => SupervisorSpecs.Validate(new SupervisorSpec { Children = [new ChildSpec { Id = "x" }] })).Message, StringComparison.Ordinal);
        Assert.Contains("periodSeconds 0",
            Assert.Throws<NefeleException>(() => SupervisorSpecs.Validate(new SupervisorSpec { PeriodSeconds = 0 })).Message, StringComparison.Ordinal);
    }

    /// <summary>A monotonic clock and a wall clock that only the test moves.</summary>
    private sealed class ManualClock(long start = 1_000_000, DateTimeOffset? wall = null) : TimeProvider
    {
        private long _timestamp = start;
        private DateTimeOffset _wall = wall ?? new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _timestamp;

        public override DateTimeOffset GetUtcNow() => _wall;

        public void Advance(TimeSpan by)
        {
            _timestamp += by.Ticks;
            _wall += by;
        }

        public void JumpWallClock(TimeSpan by) => _wall += by;
    }
}
