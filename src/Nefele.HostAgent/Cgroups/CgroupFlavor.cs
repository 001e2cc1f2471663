namespace Nefele.HostAgent.Cgroups;

/// <summary>Which cgroup hierarchy hostd uses; reported to the silo as "v2", "v1" or "none".</summary>
public enum CgroupFlavor
{
    None,
    V1,
    V2,
}
