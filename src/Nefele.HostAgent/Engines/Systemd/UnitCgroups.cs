using System.Globalization;
using System.Text.RegularExpressions;

namespace Nefele.HostAgent.Engines.Systemd;

/// <summary>
/// Where a unit's cgroups are as hostd sees them, and its main process's pid in hostd's pid
/// namespace. systemd reports cgroup paths relative to its own cgroup namespace and pids in its
/// own pid namespace; when it runs in namespaces of its own (the testbed, a container) both are
/// translated here: the cgroup paths by the root systemd itself lives under (its
/// <c>/proc/&lt;pid&gt;/cgroup</c> read from here, less <c>/init.scope</c>), the pid by the unit's
/// cgroup.procs read through that root (the kernel lists them in the reader's namespace) and each
/// candidate's NSpid.
/// </summary>
internal sealed partial class UnitCgroups
{
    private const string CgroupMount = "/sys/fs/cgroup";

    // hierarchy directory under /sys/fs/cgroup ("" for a pure v2 mount) -> systemd's root in it, as seen from here.
    private readonly Dictionary<string, string> roots;

    private UnitCgroups(bool samePidNamespace, Dictionary<string, string> roots)
    {
        SamePidNamespace = samePidNamespace;
        this.roots = roots;
    }

    /// <summary>systemd's pids are hostd's own.</summary>
    public bool SamePidNamespace { get; }

    /// <summary>
    /// Finds systemd's pid from the bus address (<c>/proc/&lt;pid&gt;/root/…</c>, as for the
    /// testbed or a container's bus) or, failing that, takes PID 1.
    /// </summary>
    public static UnitCgroups For(string busAddress)
    {
        var match = ProcRoot().Match(busAddress);
        var pid = match.Success ? int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 1;
        var same = string.Equals(NamespaceOf("self"), NamespaceOf(pid.ToString(CultureInfo.InvariantCulture)), StringComparison.Ordinal);
        var roots = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            foreach (var line in File.ReadAllLines($"/proc/{pid}/cgroup"))
            {
                var parts = line.Split(':', 3);
                if (parts.Length != 3)
                {
                    continue;
                }

                var dir = parts[1] switch
                {
                    "" => System.IO.Directory.Exists(Path.Combine(CgroupMount, "unified")) ? "unified" : "",
                    "name=systemd" => "systemd",
                    var controllers => controllers,
                };
                var path = parts[2];
                if (path.EndsWith("/init.scope", StringComparison.Ordinal))
                {
                    path = path[..^"/init.scope".Length];
                }

                foreach (var name in dir.Split(','))
                {
                    roots[name] = path.TrimEnd('/');
                }

                // Co-mounted controllers (cpu,cpuacct) share one directory named after both.
                roots[dir] = path.TrimEnd('/');
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return new UnitCgroups(same, roots);
    }

    /// <summary>
    /// The directory of unit cgroup <paramref name="controlGroup"/> (systemd's ControlGroup) in
    /// hierarchy <paramref name="hierarchy"/> (memory, cpuacct, pids, systemd), or null when there is none.
    /// </summary>
    public string? Directory(string hierarchy, string controlGroup)
    {
        if (string.IsNullOrEmpty(controlGroup) || !roots.TryGetValue(hierarchy, out var root))
        {
            return null;
        }

        var mount = hierarchy.Length == 0 ? CgroupMount : Path.Combine(CgroupMount, hierarchy);
        var dir = mount + root + controlGroup;
        return System.IO.Directory.Exists(dir) ? dir : null;
    }

    /// <summary>The pids (in hostd's namespace) of every process in the unit's cgroup.</summary>
    public IReadOnlyList<int> Pids(string controlGroup)
    {
        var dir = Directory("systemd", controlGroup) ?? Directory("unified", controlGroup) ?? Directory("", controlGroup);
        if (dir is null)
        {
            return [];
        }

        try
        {
            return File.ReadAllLines(Path.Combine(dir, "cgroup.procs"))
                .Select(l => int.TryParse(l, CultureInfo.InvariantCulture, out var p) ? p : 0)
                .Where(p => p > 0)
                .ToArray();
        }
        catch (IOException)
        {
            return [];
        }
    }

    /// <summary>The pid in hostd's namespace of the process systemd calls <paramref name="unitPid"/>, or 0 when not found.</summary>
    public int HostPid(int unitPid, string controlGroup)
    {
        if (SamePidNamespace || unitPid <= 0)
        {
            return unitPid;
        }

        foreach (var candidate in Pids(controlGroup))
        {
            if (InnermostPid(candidate) == unitPid)
            {
                return candidate;
            }
        }

        return 0;
    }

    /// <summary>The unit's ControlGroup that host pid <paramref name="hostPid"/> lives in (systemd's view), or null.</summary>
    public string? ControlGroupOf(int hostPid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{hostPid}/cgroup"))
            {
                var parts = line.Split(':', 3);
                if (parts.Length == 3 && (parts[1] == "name=systemd" || (parts[1] == "" && !roots.ContainsKey("systemd"))))
                {
                    var root = roots.GetValueOrDefault(parts[1] == "" ? (roots.ContainsKey("unified") ? "unified" : "") : "systemd", "");
                    return parts[2].StartsWith(root + "/", StringComparison.Ordinal) ? parts[2][root.Length..] : null;
                }
            }
        }
        catch (IOException)
        {
        }

        return null;
    }

    private static int InnermostPid(int hostPid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{hostPid}/status"))
            {
                if (line.StartsWith("NSpid:", StringComparison.Ordinal))
                {
                    var fields = line["NSpid:".Length..].Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
                    return fields.Length > 0 && int.TryParse(fields[^1], CultureInfo.InvariantCulture, out var p) ? p : 0;
                }
            }
        }
        catch (IOException)
        {
        }

        return 0;
    }

    private static string? NamespaceOf(string pid)
    {
        try
        {
            return new FileInfo($"/proc/{pid}/ns/pid").LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    [GeneratedRegex(@"/proc/(\d+)/root/")]
    private static partial Regex ProcRoot();
}
