using Nefele.HostAgent.Cgroups;

namespace Nefele.HostAgent.Engines;

/// <summary>A process whose exec succeeded.</summary>
/// <param name="Output">Read end of the process's stdout+stderr; the caller drains and disposes it.</param>
public sealed record StartedProcess(LocalProcessId Id, int Pid, long StartedUnixMs, Stream Output, IProcessCgroup Cgroup);
