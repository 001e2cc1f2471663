namespace Nefele.HostAgent.Engines;

/// <summary>
/// The seam between hostd and the OS mechanism that runs processes (fork/exec now, systemd
/// later). Small on purpose: start, signal, a stream of exits, recover, and capabilities.
/// </summary>
public interface IProcessEngine : IAsyncDisposable
{
    EngineCapabilities Capabilities { get; }

    /// <summary>
    /// Starts a process; returns once exec succeeded. An engine may do the work on the calling
    /// thread (the native engine's clone holds it until exec): the caller picks that thread.
    /// </summary>
    /// <exception cref="SpawnRejectedException">exec would fail or failed; the message says why.</exception>
    Task<StartedProcess> StartAsync(LaunchSpec spec, CancellationToken ct);

    /// <summary>Sends a signal to the process only (not its children); false if it is no longer running.</summary>
    Task<bool> SignalAsync(LocalProcessId id, int signal, CancellationToken ct);

    /// <summary>Every exit of a process this engine started, each exactly once, in the order they were seen.</summary>
    IAsyncEnumerable<ProcessExit> ExitsAsync(CancellationToken ct);

    /// <summary>Processes left running by a previous hostd that this engine can adopt.</summary>
    Task<IReadOnlyList<StartedProcess>> RecoverAsync(CancellationToken ct);
}
