namespace Nefele.HostAgent.Cgroups;

/// <summary>Creates one cgroup (per controller hierarchy) for each process.</summary>
public interface ICgroupManager
{
    CgroupFlavor Flavor { get; }

    /// <summary>Creates <c>&lt;root&gt;/&lt;node&gt;/&lt;tenant&gt;/&lt;npid&gt;</c> and applies the limits.</summary>
    /// <exception cref="IOException">The cgroup could not be created or a limit not written.</exception>
    IProcessCgroup Create(string tenant, string npid, CgroupLimits limits);

    /// <summary>
    /// The process cgroup <paramref name="pid"/> lives in, as (tenant, npid), read from
    /// /proc/&lt;pid&gt;/cgroup; null when it is in none of this node's. A process cannot leave
    /// its cgroup (the cgroup files are root's), so every descendant of a Nefele process is found.
    /// </summary>
    (string Tenant, string Npid)? Membership(int pid);

    /// <summary>Removes hostd's node subtree where it is empty (at shutdown).</summary>
    void RemoveNodeTree();

    /// <summary>The node subtree's directories (one per hierarchy on v1), for finding what a previous hostd left.</summary>
    IReadOnlyList<string> NodeDirectories { get; }
}
