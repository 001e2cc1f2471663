using Nefele.Client;

namespace Nefele.Processes;

/// <summary>Facts about <see cref="ProcessState"/> that only the process grain needs: its transition table.</summary>
public static class ProcessStates
{
    /// <summary>Whether the state machine allows <paramref name="from"/> → <paramref name="to"/>.</summary>
    public static bool CanMove(ProcessState from, ProcessState to) => (from, to) switch
    {
        (ProcessState.Pending, ProcessState.Placed) => true,
        (ProcessState.Placed, ProcessState.Starting) => true,
        (ProcessState.Starting, ProcessState.Running) => true,
        (ProcessState.Starting, ProcessState.FailedToStart) => true,
        (ProcessState.Running, ProcessState.Exited) => true,
        (ProcessState.Placed or ProcessState.Starting or ProcessState.Running, ProcessState.Lost) => true,
        _ => false,
    };
}
