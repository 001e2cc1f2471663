namespace Nefele.HostAgent.Engines;

/// <summary>CPU time used and memory charged by a process and its own children, now.</summary>
public sealed record ProcessUsageSample(long CpuUsageNs, long MemoryUsageBytes);
