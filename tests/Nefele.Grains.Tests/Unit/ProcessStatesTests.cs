using Nefele.Client;
using Nefele.Processes;

namespace Nefele.Grains.Tests.Unit;

/// <summary>
/// The process state machine against the rule the design states (README, "ProcessGrain"):
/// <c>Pending → Placed → Starting → Running → Exited | FailedToStart | Lost</c>, where
/// <c>FailedToStart</c> ends a start and <c>Lost</c> means "its node died". The expected table
/// is built here from those sentences, not read from <see cref="ProcessStates"/>.
/// </summary>
public class ProcessStatesTests
{
    /// <summary>The life line: each state moves only to the next one.</summary>
    private static readonly ProcessState[] LifeLine =
        [ProcessState.Pending, ProcessState.Placed, ProcessState.Starting, ProcessState.Running, ProcessState.Exited];

    /// <summary>The transitions the rule allows, derived from its three sentences.</summary>
    private static HashSet<(ProcessState From, ProcessState To)> Rule()
    {
        var allowed = new HashSet<(ProcessState, ProcessState)>();

        // 1. Along the life line, one step at a time.
        for (var i = 0; i + 1 < LifeLine.Length; i++)
        {
            allowed.Add((LifeLine[i], LifeLine[i + 1]));
        }

        // 2. A start can fail only while it is starting: before, nothing was started; after, it had started.
        allowed.Add((ProcessState.Starting, ProcessState.FailedToStart));

        // 3. "Lost: its node died" needs a node (from Placed on) and a process that has not ended yet.
        var placed = Array.IndexOf(LifeLine, ProcessState.Placed);
        var ended = Array.IndexOf(LifeLine, ProcessState.Exited);
        for (var i = placed; i < ended; i++)
        {
            allowed.Add((LifeLine[i], ProcessState.Lost));
        }

        return allowed;
    }

    public static TheoryData<ProcessState, ProcessState> EveryPair()
    {
        var data = new TheoryData<ProcessState, ProcessState>();
        foreach (var from in Enum.GetValues<ProcessState>())
        {
            foreach (var to in Enum.GetValues<ProcessState>())
            {
                data.Add(from, to);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EveryPair))]
    public void A_transition_is_allowed_exactly_when_the_stated_rule_allows_it(ProcessState from, ProcessState to) =>
        Assert.Equal(Rule().Contains((from, to)), ProcessStates.CanMove(from, to));

    [Fact]
    public void The_rule_counts_eight_transitions()
    {
        // By hand: 4 steps along the life line, 1 failed start, Lost from Placed, Starting and Running.
        Assert.Equal(4 + 1 + 3, Rule().Count);
        var states = Enum.GetValues<ProcessState>();
        Assert.Equal(8, states.SelectMany(from => states.Select(to => (from, to))).Count(p => ProcessStates.CanMove(p.from, p.to)));
    }

    // Cases a reader checks against the design's sentence directly.
    [Theory]
    [InlineData(ProcessState.Running, ProcessState.Pending)] // backwards
    [InlineData(ProcessState.Pending, ProcessState.Running)] // skips Placed and Starting
    [InlineData(ProcessState.Placed, ProcessState.Running)] // skips Starting
    [InlineData(ProcessState.Pending, ProcessState.Lost)] // no node yet, so no node to lose
    [InlineData(ProcessState.Running, ProcessState.FailedToStart)] // it did start
    [InlineData(ProcessState.Placed, ProcessState.FailedToStart)] // nothing was started yet
    [InlineData(ProcessState.Starting, ProcessState.Exited)] // an exit before Running is a failed start
    [InlineData(ProcessState.Exited, ProcessState.Lost)] // an ended process cannot be lost
    [InlineData(ProcessState.Running, ProcessState.Running)] // no self-transition
    public void Transitions_outside_the_rule_are_refused(ProcessState from, ProcessState to) =>
        Assert.False(ProcessStates.CanMove(from, to));

    [Fact]
    public void Terminal_states_are_exited_failed_to_start_and_lost()
    {
        var terminal = Enum.GetValues<ProcessState>().Where(s => s.IsTerminal()).ToHashSet();
        Assert.Equal(new HashSet<ProcessState> { ProcessState.Exited, ProcessState.FailedToStart, ProcessState.Lost }, terminal);
    }

    [Fact]
    public void No_transition_leaves_a_terminal_state()
    {
        foreach (var from in Enum.GetValues<ProcessState>().Where(s => s.IsTerminal()))
        {
            Assert.DoesNotContain(Enum.GetValues<ProcessState>(), to => ProcessStates.CanMove(from, to));
        }
    }
}
