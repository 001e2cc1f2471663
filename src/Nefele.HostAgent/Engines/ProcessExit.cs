namespace Nefele.HostAgent.Engines;

/// <summary>How a process the engine started or adopted ended.</summary>
/// <param name="ExitCode">Exit status when it exited normally, else -1.</param>
/// <param name="Signal">Terminating signal, else 0.</param>
public sealed record ProcessExit(LocalProcessId Id, int ExitCode, int Signal, bool CoreDumped, bool OomKilled, long EndedUnixMs);
