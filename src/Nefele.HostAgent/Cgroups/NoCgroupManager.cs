namespace Nefele.HostAgent.Cgroups;

/// <summary>Used when no cgroup hierarchy is writable: processes run without limits or usage.</summary>
public sealed class NoCgroupManager : ICgroupManager
{
    public CgroupFlavor Flavor => CgroupFlavor.None;

    public IProcessCgroup Create(string tenant, string npid, CgroupLimits limits) => NoProcessCgroup.Instance;

    public (string Tenant, string Npid)? Membership(int pid) => null;

    public void RemoveNodeTree()
    {
    }

    public IReadOnlyList<string> NodeDirectories => [];

    private sealed class NoProcessCgroup : IProcessCgroup
    {
        public static readonly NoProcessCgroup Instance = new();

        public IReadOnlyList<string> ProcsFiles => [];

        public long CpuUsageNanoseconds() => 0;

        public long MemoryUsageBytes() => 0;

        public bool OomKilled() => false;

        public bool TryRemove() => true;
    }
}
