namespace Nefele.HostAgent.Cgroups;

/// <summary>Picks v2 where it has controllers, else the writable v1 hierarchies, else none.</summary>
public static class CgroupManagerFactory
{
    public static ICgroupManager Create(HostAgentOptions options) =>
        (ICgroupManager?)CgroupV2Manager.TryCreate(options.CgroupMount, options.CgroupRoot, options.Node)
        ?? (ICgroupManager?)CgroupV1Manager.TryCreate(options.CgroupMount, options.CgroupRoot, options.Node)
        ?? new NoCgroupManager();
}
