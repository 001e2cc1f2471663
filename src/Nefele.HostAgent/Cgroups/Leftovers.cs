using Nefele.HostAgent.Interop;

namespace Nefele.HostAgent.Cgroups;

/// <summary>
/// What a previous hostd of this node left running. Its processes were that hostd's children:
/// a new hostd cannot reap them, read their exit status or own their output, so it stops
/// them (the control plane marks them Lost when the silo reattaches) and starts from a
/// clean node subtree.
/// </summary>
public static class Leftovers
{
    /// <summary>SIGKILLs every task in the node subtree's process cgroups and removes the subtree; returns how many were found.</summary>
    public static int Stop(ICgroupManager cgroups)
    {
        var pids = new HashSet<int>();
        foreach (var nodeDir in cgroups.NodeDirectories.Where(Directory.Exists))
        {
            foreach (var tenantDir in Directory.GetDirectories(nodeDir))
            {
                var procs = Directory.GetDirectories(tenantDir).Select(d => Path.Combine(d, "cgroup.procs"));
                pids.UnionWith(CgroupFiles.ReadPids(procs));
            }
        }

        foreach (var pid in pids)
        {
            LibC.kill(pid, LibC.SIGKILL);
        }

        // A killed task leaves its cgroup as it exits; wait for that (bounded) before removing.
        var deadline = Environment.TickCount64 + 5000;
        while (pids.Count > 0 && Environment.TickCount64 < deadline
            && cgroups.NodeDirectories.Any(d => Directory.Exists(d) && Directory.GetDirectories(d).SelectMany(Directory.GetDirectories)
                .Any(c => CgroupFiles.ReadPids([Path.Combine(c, "cgroup.procs")]).Count > 0)))
        {
            Thread.Sleep(10);
        }

        foreach (var nodeDir in cgroups.NodeDirectories)
        {
            foreach (var tenantDir in Directory.Exists(nodeDir) ? Directory.GetDirectories(nodeDir) : [])
            {
                CgroupFiles.RemoveTree(tenantDir);
            }
        }

        return pids.Count;
    }
}
