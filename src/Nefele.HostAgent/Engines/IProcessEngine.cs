namespace Nefele.HostAgent.Engines;

/// <summary>
/// The seam between hostd and the OS mechanism that runs processes (fork/exec, systemd units,
/// containers). Small on purpose: start, signal, a stream of exits, recover, release, usage
/// and capabilities. Limits, output and the process's cgroup or unit are the engine's; the
/// supervisor above it never signals a pid or touches a cgroup itself.
/// </summary>
public interface IProcessEngine : IAsyncDisposable
{
    EngineCapabilities Capabilities { get; }

    /// <summary>
    /// Starts one process; returns once exec succeeded. Limits (cpu, memory, tasks, rlimits,
    /// uid/gid) and output are the engine's job. An engine may do the work on the calling
    /// thread (the native engine's clone holds it until exec): the caller picks that thread.
    /// </summary>
    /// <exception cref="SpawnRejectedException">exec would fail or failed; the message says why.</exception>
    Task<StartedProcess> StartAsync(LaunchSpec spec, CancellationToken ct);

    /// <summary>
    /// Sends <paramref name="signal"/> to the process (<see cref="SignalTarget.MainProcess"/>) or to
    /// everything in its cgroup or unit (<see cref="SignalTarget.All"/>, which still reaches the
    /// children of a process that has exited until it is released); false when nothing was signalled.
    /// </summary>
    Task<bool> SignalAsync(LocalProcessId id, int signal, SignalTarget target, CancellationToken ct);

    /// <summary>Every exit of a process this engine started or adopted, each exactly once, in the order they were seen.</summary>
    IAsyncEnumerable<ProcessExit> ExitsAsync(CancellationToken ct);

    /// <summary>
    /// Called once at hostd start-up, before the first <see cref="StartAsync"/>. An engine that
    /// cannot own what a previous hostd left stops it and returns none; one that can lists and
    /// re-adopts the running processes (their exits then come through <see cref="ExitsAsync"/>).
    /// </summary>
    Task<IReadOnlyList<RecoveredProcess>> RecoverAsync(CancellationToken ct);

    /// <summary>
    /// The process's end was acknowledged (or it never started): frees what the engine keeps for
    /// it (cgroup, unit). Children it left behind run on undisturbed; the engine frees their
    /// cgroup or unit once they are gone, and stops them with <see cref="SignalReleasedAsync"/>.
    /// </summary>
    ValueTask ReleaseAsync(LocalProcessId id);

    /// <summary>CPU time and memory of the process and its children now, or null when unknown.</summary>
    ProcessUsageSample? Usage(LocalProcessId id);

    /// <summary>
    /// Signals whatever released processes left running (their own children, still in their
    /// cgroup or unit); used when the node stops. Returns how many tasks were signalled.
    /// </summary>
    Task<int> SignalReleasedAsync(int signal, CancellationToken ct) => Task.FromResult(0);
}
