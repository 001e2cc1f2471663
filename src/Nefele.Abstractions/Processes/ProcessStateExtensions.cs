namespace Nefele.Client;

/// <summary>Facts about a <see cref="ProcessState"/> that every caller needs alike.</summary>
public static class ProcessStateExtensions
{
    /// <summary>True for the states a process never leaves: <see cref="ProcessState.Exited"/>, <see cref="ProcessState.FailedToStart"/> and <see cref="ProcessState.Lost"/>.</summary>
    /// <param name="state">The state to test.</param>
    /// <returns>Whether the process has ended.</returns>
    public static bool IsTerminal(this ProcessState state) =>
        state is ProcessState.Exited or ProcessState.FailedToStart or ProcessState.Lost;
}
