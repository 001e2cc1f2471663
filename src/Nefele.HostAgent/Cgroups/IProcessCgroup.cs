namespace Nefele.HostAgent.Cgroups;

/// <summary>One process's cgroup (one directory per hierarchy on v1, one on v2).</summary>
public interface IProcessCgroup
{
    /// <summary>The cgroup.procs files the child writes itself into before exec.</summary>
    IReadOnlyList<string> ProcsFiles { get; }

    /// <summary>
    /// On cgroup v2, the directory the child is created in (clone3 with CLONE_INTO_CGROUP), so
    /// it is never outside it and no cgroup.procs write is needed; null on v1, where the child
    /// writes itself into <see cref="ProcsFiles"/>.
    /// </summary>
    string? UnifiedDirectory => null;

    /// <summary>CPU time used by everything in the cgroup, in ns (0 if unknown).</summary>
    long CpuUsageNanoseconds();

    /// <summary>Memory charged to the cgroup, in bytes (0 if unknown).</summary>
    long MemoryUsageBytes();

    /// <summary>True when the kernel's OOM killer has killed a task in this cgroup.</summary>
    bool OomKilled();

    /// <summary>Every task still in the cgroup: the process and the children it forked itself.</summary>
    IReadOnlyList<int> Pids() => CgroupFiles.ReadPids(ProcsFiles);

    /// <summary>Removes the cgroup; false while tasks (e.g. the process's own children) still live in it.</summary>
    bool TryRemove();
}
