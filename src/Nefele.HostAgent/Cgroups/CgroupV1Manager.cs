using System.Globalization;

namespace Nefele.HostAgent.Cgroups;

/// <summary>
/// cgroup v1: one directory per controller hierarchy (memory, cpu, cpuacct, pids), each
/// used only when writable. Controllers mounted together (cpu,cpuacct) share a directory.
/// </summary>
public sealed class CgroupV1Manager : ICgroupManager
{
    private const long CfsPeriodMicros = 100_000;
    private static readonly string[] ControllerNames = ["memory", "cpu", "cpuacct", "pids"];
    private readonly Dictionary<string, string> nodeDirs; // controller -> <mount>/<controller>/<root>/<node>
    private readonly List<string> rootDirs;
    private readonly string relativeNodePath;

    private CgroupV1Manager(Dictionary<string, string> nodeDirs, List<string> rootDirs, string relativeNodePath)
    {
        this.nodeDirs = nodeDirs;
        this.rootDirs = rootDirs;
        this.relativeNodePath = relativeNodePath;
    }

    public CgroupFlavor Flavor => CgroupFlavor.V1;

    public IReadOnlyCollection<string> Controllers => nodeDirs.Keys;

    /// <summary>Returns a manager for the writable v1 controllers, or null if none is.</summary>
    public static CgroupV1Manager? TryCreate(string mount, string root, string node)
    {
        var nodeDirs = new Dictionary<string, string>(StringComparer.Ordinal);
        var rootDirs = new List<string>();
        foreach (var controller in ControllerNames)
        {
            var hierarchy = Path.Combine(mount, controller);
            if (!File.Exists(Path.Combine(hierarchy, "cgroup.procs")))
            {
                continue;
            }

            try
            {
                var dir = Path.Combine(hierarchy, root, node);
                Directory.CreateDirectory(dir);
                nodeDirs[controller] = dir;
                rootDirs.Add(Path.Combine(hierarchy, root));
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return nodeDirs.Count == 0 ? null : new CgroupV1Manager(nodeDirs, rootDirs, "/" + root + "/" + node);
    }

    public IProcessCgroup Create(string tenant, string npid, CgroupLimits limits)
    {
        var dirs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (controller, nodeDir) in nodeDirs)
        {
            var dir = Path.Combine(nodeDir, tenant, npid);
            Directory.CreateDirectory(dir);
            dirs[controller] = dir;
        }

        var cgroup = new ProcessCgroup(dirs);
        try
        {
            if (limits.MemoryBytes > 0 && dirs.TryGetValue("memory", out var mem))
            {
                var bytes = limits.MemoryBytes.ToString(CultureInfo.InvariantCulture);
                CgroupFiles.Write(Path.Combine(mem, "memory.limit_in_bytes"), bytes);

                // Without the memsw limit the kernel would swap instead of enforcing the limit.
                var memsw = Path.Combine(mem, "memory.memsw.limit_in_bytes");
                if (File.Exists(memsw))
                {
                    CgroupFiles.Write(memsw, bytes);
                }
            }

            if (limits.CpuMillis > 0 && dirs.TryGetValue("cpu", out var cpu))
            {
                // The kernel's minimum quota is 1 ms.
                var quota = Math.Max(1000, limits.CpuMillis * CfsPeriodMicros / 1000);
                CgroupFiles.Write(Path.Combine(cpu, "cpu.cfs_period_us"), CfsPeriodMicros.ToString(CultureInfo.InvariantCulture));
                CgroupFiles.Write(Path.Combine(cpu, "cpu.cfs_quota_us"), quota.ToString(CultureInfo.InvariantCulture));
            }
        }
        catch
        {
            cgroup.TryRemove();
            throw;
        }

        return cgroup;
    }

    public IReadOnlyList<string> NodeDirectories => nodeDirs.Values.ToArray();

    // A v1 line is "<id>:<controllers, comma-separated>:<path>"; only the hierarchies hostd manages count.
    public (string Tenant, string Npid)? Membership(int pid) =>
        CgroupFiles.Membership(pid, relativeNodePath, controllers => controllers.Split(',').Any(nodeDirs.ContainsKey));

    public void RemoveNodeTree()
    {
        foreach (var dir in nodeDirs.Values)
        {
            CgroupFiles.RemoveTree(dir);
        }

        // Shared by other nodes on the same machine: removed only when they are gone too.
        foreach (var dir in rootDirs)
        {
            CgroupFiles.TryRmdir(dir);
        }
    }

    private sealed class ProcessCgroup(Dictionary<string, string> dirs) : IProcessCgroup
    {
        private readonly HashSet<string> remaining = new(dirs.Values.Distinct(StringComparer.Ordinal), StringComparer.Ordinal);

        public IReadOnlyList<string> ProcsFiles { get; } =
            dirs.Values.Distinct(StringComparer.Ordinal).Select(d => Path.Combine(d, "cgroup.procs")).ToArray();

        public long CpuUsageNanoseconds() =>
            dirs.TryGetValue("cpuacct", out var d) ? CgroupFiles.ReadLong(Path.Combine(d, "cpuacct.usage")) : 0;

        public long MemoryUsageBytes() =>
            dirs.TryGetValue("memory", out var d) ? CgroupFiles.ReadLong(Path.Combine(d, "memory.usage_in_bytes")) : 0;

        public bool OomKilled() =>
            dirs.TryGetValue("memory", out var d) && CgroupFiles.ReadKey(Path.Combine(d, "memory.oom_control"), "oom_kill") > 0;

        public bool TryRemove()
        {
            lock (remaining)
            {
                remaining.RemoveWhere(CgroupFiles.TryRmdir);
                return remaining.Count == 0;
            }
        }
    }
}
