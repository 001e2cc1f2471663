namespace Nefele.HostAgent.Monitoring;

/// <summary>Cumulative CPU time of all CPUs, in jiffies: busy, and busy plus idle.</summary>
public readonly record struct CpuTimes(long Busy, long Total);
