namespace Nefele.HostAgent.Engines;

/// <summary>A process whose exec succeeded (or that was adopted).</summary>
/// <param name="Pid">The process's pid in hostd's pid namespace: the one SO_PEERCRED reports to hostd.</param>
/// <param name="Output">Read end of the process's stdout (and of its stderr too when <paramref name="ErrorOutput"/> is null, as for a terminal); the caller drains and disposes it.</param>
/// <param name="ErrorOutput">Read end of the process's stderr, when it has its own; the caller drains and disposes it.</param>
/// <param name="Terminal">The master of its pseudo-terminal (spawn --tty; <paramref name="Output"/> reads it); the caller disposes it. Null without one.</param>
public sealed record StartedProcess(LocalProcessId Id, int Pid, long StartedUnixMs, Stream Output, Stream? ErrorOutput = null, PseudoTerminal? Terminal = null);
