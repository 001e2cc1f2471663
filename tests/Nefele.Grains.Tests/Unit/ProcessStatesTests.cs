using Nefele.Processes;

namespace Nefele.Grains.Tests.Unit;

public class ProcessStatesTests
{
    public static TheoryData<ProcessState, ProcessState> Allowed => new()
    {
        { ProcessState.Pending, ProcessState.Placed },
        { ProcessState.Placed, ProcessState.Starting },
        { ProcessState.Starting, ProcessState.Running },
        { ProcessState.Starting, ProcessState.FailedToStart },
        { ProcessState.Running, ProcessState.Exited },
        { ProcessState.Placed, ProcessState.Lost },
        { ProcessState.Starting, ProcessState.Lost },
        { ProcessState.Running, ProcessState.Lost },
    };

    public static TheoryData<ProcessState, ProcessState> Forbidden => new()
    {
        { ProcessState.Running, ProcessState.Pending },
        { ProcessState.Exited, ProcessState.Running },
        { ProcessState.Pending, ProcessState.Running },
        { ProcessState.Pending, ProcessState.Starting },
        { ProcessState.Pending, ProcessState.Lost },
        { ProcessState.Placed, ProcessState.Running },
        { ProcessState.Running, ProcessState.Starting },
        { ProcessState.Running, ProcessState.FailedToStart },
        { ProcessState.Starting, ProcessState.Exited },
        { ProcessState.Exited, ProcessState.Lost },
        { ProcessState.Lost, ProcessState.Running },
        { ProcessState.FailedToStart, ProcessState.Running },
        { ProcessState.Running, ProcessState.Running },
    };

    [Theory]
    [MemberData(nameof(Allowed))]
    public void Allowed_transition_is_allowed(ProcessState from, ProcessState to) =>
        Assert.True(ProcessStates.CanMove(from, to));

    [Theory]
    [MemberData(nameof(Forbidden))]
    public void Forbidden_transition_is_refused(ProcessState from, ProcessState to) =>
        Assert.False(ProcessStates.CanMove(from, to));

    [Fact]
    public void Exactly_the_listed_transitions_are_allowed()
    {
        var allowed = Allowed.Select(row => ((ProcessState)row[0], (ProcessState)row[1])).ToHashSet();
        var states = Enum.GetValues<ProcessState>();
        foreach (var from in states)
        {
            foreach (var to in states)
            {
                Assert.True(allowed.Contains((from, to)) == ProcessStates.CanMove(from, to), $"{from} → {to}");
            }
        }
    }

    [Fact]
    public void Terminal_states_are_exited_failed_to_start_and_lost()
    {
        var terminal = Enum.GetValues<ProcessState>().Where(s => s.IsTerminal()).ToArray();
        Assert.Equal([ProcessState.Exited, ProcessState.FailedToStart, ProcessState.Lost], terminal);
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
