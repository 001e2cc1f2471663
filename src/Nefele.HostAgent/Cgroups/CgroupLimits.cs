namespace Nefele.HostAgent.Cgroups;

/// <summary>Limits for one process's cgroup; 0 means no limit.</summary>
public readonly record struct CgroupLimits(long CpuMillis, long MemoryBytes);
