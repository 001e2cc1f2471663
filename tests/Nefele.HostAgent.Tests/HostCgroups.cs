namespace Nefele.HostAgent.Tests;

/// <summary>
/// What cgroups this machine offers, read from the kernel (/proc/self/mountinfo and the
/// hierarchies' own files), not from hostd: a v2 hierarchy (pure at /sys/fs/cgroup, or the
/// hybrid's "unified" one) with the memory and cpu controllers, else root-writable v1
/// memory and cpu hierarchies, else none. Tests assert what hostd must do on that flavour.
/// </summary>
internal static class HostCgroups
{
    private const string Mount = "/sys/fs/cgroup";

    static HostCgroups()
    {
        var v2 = Mounts("cgroup2").Where(m => m == Mount || m == Path.Combine(Mount, "unified")).OrderBy(m => m.Length).ToList();
        UnifiedHierarchy = v2.FirstOrDefault();
        UnifiedControllers = UnifiedHierarchy is null
            ? []
            : File.ReadAllText(Path.Combine(UnifiedHierarchy, "cgroup.controllers")).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var root = Environment.UserName == "root";

        // v1 mounts each controller (or a group, cpu,cpuacct, linked as cpu) at /sys/fs/cgroup/<controller>.
        var v1 = File.Exists(Path.Combine(Mount, "memory", "cgroup.procs")) && File.Exists(Path.Combine(Mount, "cpu", "cgroup.procs"));

        if (root && UnifiedControllers.Contains("memory") && UnifiedControllers.Contains("cpu"))
        {
            Flavor = "v2";
        }
        else if (root && v1)
        {
            Flavor = "v1";
        }
        else
        {
            Flavor = "none";
        }
    }

    /// <summary>"v2", "v1" or "none", as hostd reports it in its facts.</summary>
    public static string Flavor { get; }

    /// <summary>The kernel's v2 hierarchy (pure or the hybrid's unified one), if mounted.</summary>
    public static string? UnifiedHierarchy { get; }

    /// <summary>The controllers the v2 hierarchy offers (cgroup.controllers).</summary>
    public static IReadOnlyList<string> UnifiedControllers { get; }

    /// <summary>The cgroup directories a process of hostd's (cgroup root "nefele") lives in on this flavour; empty on none.</summary>
    public static IReadOnlyList<string> ProcessDirectories(string node, string tenant, string npid) =>
        NodeDirectories(node).Select(d => Path.Combine(d, tenant, npid)).ToList();

    /// <summary>hostd's node subtree directories on this flavour; empty on none.</summary>
    public static IReadOnlyList<string> NodeDirectories(string node) => Flavor switch
    {
        "v2" => [Path.Combine(UnifiedHierarchy!, "nefele", node)],
        "v1" => [Path.Combine(Mount, "memory", "nefele", node), Path.Combine(Mount, "cpu", "nefele", node)],
        _ => [],
    };

    /// <summary>The memory limit file and the value it holds for <paramref name="bytes"/>, on this flavour.</summary>
    public static (string File, string Value) MemoryLimit(string node, string tenant, string npid, long bytes) => Flavor switch
    {
        "v2" => (Path.Combine(ProcessDirectories(node, tenant, npid)[0], "memory.max"), bytes.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        _ => (Path.Combine(ProcessDirectories(node, tenant, npid)[0], "memory.limit_in_bytes"), bytes.ToString(System.Globalization.CultureInfo.InvariantCulture)),
    };

    /// <summary>The CPU limit file and the value it holds for <paramref name="millis"/> (CFS period 100 ms), on this flavour.</summary>
    public static (string File, string Value) CpuLimit(string node, string tenant, string npid, long millis) => Flavor switch
    {
        // millis of 1000 per core, in microseconds of each 100,000 µs period
        "v2" => (Path.Combine(ProcessDirectories(node, tenant, npid)[0], "cpu.max"), $"{millis * 100} 100000"),
        _ => (Path.Combine(ProcessDirectories(node, tenant, npid)[1], "cpu.cfs_quota_us"), $"{millis * 100}"),
    };

    private static IEnumerable<string> Mounts(string type)
    {
        // mountinfo: "id parent major:minor root mountpoint options ... - fstype source superoptions"
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var dash = line.IndexOf(" - ", StringComparison.Ordinal);
            var before = line[..dash].Split(' ');
            var after = line[(dash + 3)..].Split(' ');
            if (after[0] == type)
            {
                yield return before[4];
            }
        }
    }
}
