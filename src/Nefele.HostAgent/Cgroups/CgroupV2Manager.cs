using System.Globalization;

namespace Nefele.HostAgent.Cgroups;

/// <summary>
/// cgroup v2 (unified): one directory per process, limits via memory.max and cpu.max.
/// Used only when the unified hierarchy offers the memory and cpu controllers.
/// </summary>
public sealed class CgroupV2Manager : ICgroupManager
{
    private const long CfsPeriodMicros = 100_000;
    private static readonly string[] Wanted = ["memory", "cpu", "pids"];
    private readonly string rootDir;
    private readonly string nodeDir;
    private readonly string enable;
    private readonly string relativeNodePath;

    private CgroupV2Manager(string hierarchy, string rootDir, string nodeDir, string enable)
    {
        relativeNodePath = "/" + Path.GetRelativePath(hierarchy, nodeDir);
        this.rootDir = rootDir;
        this.nodeDir = nodeDir;
        this.enable = enable;
    }

    public CgroupFlavor Flavor => CgroupFlavor.V2;

    /// <summary>
    /// Returns a manager when <c>&lt;mount&gt;</c> (pure v2) or <c>&lt;mount&gt;/unified</c> (hybrid)
    /// offers memory and cpu and hostd can create its subtree there; otherwise null.
    /// </summary>
    public static CgroupV2Manager? TryCreate(string mount, string root, string node)
    {
        foreach (var hierarchy in (string[])[mount, Path.Combine(mount, "unified")])
        {
            var controllersFile = Path.Combine(hierarchy, "cgroup.controllers");
            if (!File.Exists(controllersFile))
            {
                continue;
            }

            var available = File.ReadAllText(controllersFile).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (!available.Contains("memory") || !available.Contains("cpu"))
            {
                continue;
            }

            if (TryOpen(hierarchy, available, root, node) is { } manager)
            {
                return manager;
            }
        }

        return null;
    }

    /// <summary>
    /// Makes hostd's subtree in one v2 hierarchy, enabling for children whichever of memory, cpu
    /// and pids it offers; null when the kernel refuses. <see cref="TryCreate"/> calls it only where
    /// memory and cpu are offered; tests call it on a hierarchy without them, to exercise what
    /// needs no controller.
    /// </summary>
    internal static CgroupV2Manager? TryOpen(string hierarchy, IReadOnlyCollection<string> available, string root, string node)
    {
        var enable = string.Join(' ', Wanted.Where(available.Contains).Select(c => "+" + c));
        try
        {
            // Controllers reach a cgroup only if every ancestor enables them for its children.
            var rootDir = Path.Combine(hierarchy, root);
            var nodeDir = Path.Combine(rootDir, node);
            CgroupFiles.Write(Path.Combine(hierarchy, "cgroup.subtree_control"), enable);
            Directory.CreateDirectory(rootDir);
            CgroupFiles.Write(Path.Combine(rootDir, "cgroup.subtree_control"), enable);
            Directory.CreateDirectory(nodeDir);
            CgroupFiles.Write(Path.Combine(nodeDir, "cgroup.subtree_control"), enable);
            return new CgroupV2Manager(hierarchy, rootDir, nodeDir, enable);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return null;
    }

    public IProcessCgroup Create(string tenant, string npid, CgroupLimits limits)
    {
        var tenantDir = Path.Combine(nodeDir, tenant);
        Directory.CreateDirectory(tenantDir);
        CgroupFiles.Write(Path.Combine(tenantDir, "cgroup.subtree_control"), enable);
        var dir = Path.Combine(tenantDir, npid);
        Directory.CreateDirectory(dir);
        var cgroup = new ProcessCgroup(dir);
        try
        {
            if (limits.MemoryBytes > 0)
            {
                CgroupFiles.Write(Path.Combine(dir, "memory.max"), limits.MemoryBytes.ToString(CultureInfo.InvariantCulture));
                var swap = Path.Combine(dir, "memory.swap.max");
                if (File.Exists(swap))
                {
                    CgroupFiles.Write(swap, "0");
                }
            }

            if (limits.CpuMillis > 0)
            {
                var quota = Math.Max(1000, limits.CpuMillis * CfsPeriodMicros / 1000);
                CgroupFiles.Write(Path.Combine(dir, "cpu.max"), string.Create(CultureInfo.InvariantCulture, $"{quota} {CfsPeriodMicros}"));
            }
        }
        catch
        {
            cgroup.TryRemove();
            throw;
        }

        return cgroup;
    }

    public IReadOnlyList<string> NodeDirectories => [nodeDir];

    // The unified hierarchy's line is "0::<path>".
    public (string Tenant, string Npid)? Membership(int pid) => CgroupFiles.Membership(pid, relativeNodePath, controllers => controllers.Length == 0);

    public void RemoveNodeTree()
    {
        CgroupFiles.RemoveTree(nodeDir);
        CgroupFiles.TryRmdir(rootDir);
    }

    private sealed class ProcessCgroup(string dir) : IProcessCgroup
    {
        public IReadOnlyList<string> ProcsFiles { get; } = [Path.Combine(dir, "cgroup.procs")];

        public string? UnifiedDirectory => dir;

        public long CpuUsageNanoseconds() => CgroupFiles.ReadKey(Path.Combine(dir, "cpu.stat"), "usage_usec") * 1000;

        public long MemoryUsageBytes() => CgroupFiles.ReadLong(Path.Combine(dir, "memory.current"));

        public bool OomKilled() => CgroupFiles.ReadKey(Path.Combine(dir, "memory.events"), "oom_kill") > 0;

        public bool TryRemove() => CgroupFiles.TryRmdir(dir);
    }
}
