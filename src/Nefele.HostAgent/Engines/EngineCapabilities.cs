namespace Nefele.HostAgent.Engines;

/// <summary>What an engine can do; a missing feature is stated here rather than thrown at call time.</summary>
/// <param name="Name">The name the engine is chosen by in configuration.</param>
/// <param name="Recover">Re-adopts processes started by a previous hostd instance (false: it stops them at start-up).</param>
/// <param name="ResourceLimits">Enforces cpu/memory limits (false when no cgroup hierarchy is writable).</param>
/// <param name="Terminal">Runs a process on a pseudo-terminal whose master hostd holds (spawn --tty).</param>
public sealed record EngineCapabilities(string Name, bool Recover, bool ResourceLimits, bool Terminal = false);
