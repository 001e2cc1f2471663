namespace Nefele.Supervision;

/// <summary>How a child's run ended, as its supervisor judges it.</summary>
/// <param name="Abnormal">Not a normal end: a transient child is restarted after it.</param>
/// <param name="Description">One line, as nef monitor prints an end.</param>
public readonly record struct ChildExit(bool Abnormal, string Description)
{
    /// <summary>
    /// OTP's normal ends are <c>normal</c> and <c>shutdown</c>: for a process, exit code 0, or the end
    /// by SIGTERM that a shutdown sends. Any other exit code or signal, a process lost with its node
    /// and one that failed to start are abnormal.
    /// </summary>
    public static ChildExit Of(Client.ProcessEnd end) => new(
        !(end.State == Client.ProcessState.Exited && (end.Signal == 0 ? end.ExitCode == 0 : end.Signal == Client.Signals.SigTerm)),
        end.Describe());

    /// <summary>A nested supervisor that gave up ends with OTP's <c>shutdown</c>: normal (a transient one is not restarted).</summary>
    public static ChildExit SupervisorEnded(string? reason) => new(false, "supervisor ended: " + (reason ?? "stopped"));

    /// <summary>A start that failed: abnormal.</summary>
    public static ChildExit FailedToStart(string reason) => new(true, "failed to start: " + reason);
}
