using System.Diagnostics;
using Nefele.HostAgent.Cgroups;

namespace Nefele.HostAgent.Tests;

/// <summary>
/// <see cref="CgroupV2Manager"/> on the kernel's own cgroup2 hierarchy (pure, or the hybrid's
/// "unified" one), under a subtree of its own that is removed afterwards. What needs no
/// controller (creating, joining, finding and removing process cgroups, cpu.stat) runs wherever
/// a cgroup2 hierarchy is mounted; the limits need the memory and cpu controllers there and are
/// skipped, with the reason, where v1 holds them.
/// </summary>
public sealed class CgroupV2ManagerTests : IDisposable
{
    private const long Mi = 1L << 20;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly string id = Guid.NewGuid().ToString("N")[..10];
    private readonly List<Process> started = [];

    private string Root => "nefele-test-" + id;

    private string Node => "n" + id;

    private static bool IsRoot => Environment.UserName == "root";

    private static bool HasLimitControllers => HostCgroups.UnifiedControllers.Contains("memory") && HostCgroups.UnifiedControllers.Contains("cpu");

    private static string NoLimitControllers =>
        $"the kernel's cgroup2 hierarchy offers [{string.Join(' ', HostCgroups.UnifiedControllers)}]: memory and cpu are bound to v1 on this machine, so memory.max and cpu.max do not exist";

    [Fact]
    public void TryCreate_takes_the_v2_hierarchy_exactly_when_it_offers_memory_and_cpu()
    {
        var manager = CgroupV2Manager.TryCreate("/sys/fs/cgroup", Root, Node);

        Assert.Equal(IsRoot && HasLimitControllers, manager is not null);
        if (manager is null)
        {
            // Refused without touching the hierarchy.
            Assert.True(HostCgroups.UnifiedHierarchy is null || !Directory.Exists(Path.Combine(HostCgroups.UnifiedHierarchy, Root)));
            return;
        }

        Assert.Equal(CgroupFlavor.V2, manager.Flavor);
        Assert.Equal([Path.Combine(HostCgroups.UnifiedHierarchy!, Root, Node)], manager.NodeDirectories);
        Assert.True(Directory.Exists(manager.NodeDirectories[0]));
        manager.RemoveNodeTree();
        Assert.False(Directory.Exists(Path.Combine(HostCgroups.UnifiedHierarchy!, Root)));
    }

    [SkippableFact]
    public async Task A_process_cgroup_is_created_joined_found_and_removed()
    {
        Skip.If(HostCgroups.UnifiedHierarchy is null, "no cgroup2 hierarchy is mounted on this machine");
        Skip.IfNot(IsRoot, "making cgroups needs root");
        var hierarchy = HostCgroups.UnifiedHierarchy!;
        var manager = CgroupV2Manager.TryOpen(hierarchy, HostCgroups.UnifiedControllers.ToArray(), Root, Node);
        Assert.NotNull(manager);

        var cgroup = manager.Create("acme", "p1", new CgroupLimits(0, 0));
        var dir = Path.Combine(hierarchy, Root, Node, "acme", "p1");
        Assert.True(Directory.Exists(dir));
        Assert.Equal([Path.Combine(dir, "cgroup.procs")], cgroup.ProcsFiles);

        // A real process joins it the way the spawn helper does: by writing its pid to cgroup.procs.
        var process = Start("/bin/sh", "-c", "read x; i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; exec sleep 300");
        await File.WriteAllTextAsync(cgroup.ProcsFiles[0], process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await process.StandardInput.WriteLineAsync("go");
        await process.StandardInput.FlushAsync();

        Assert.Contains($"0::/{Root}/{Node}/acme/p1", await File.ReadAllLinesAsync($"/proc/{process.Id}/cgroup"));
        Assert.Equal(("acme", "p1"), manager.Membership(process.Id));
        Assert.Null(manager.Membership(Environment.ProcessId));
        Assert.Equal([process.Id], cgroup.Pids());

        // cpu.stat is the core's, there without the cpu controller; memory.current is the controller's.
        await Eventually(() => cgroup.CpuUsageNanoseconds() > 0, "the busy loop's CPU time in cpu.stat");
        Assert.Equal(HostCgroups.UnifiedControllers.Contains("memory"), cgroup.MemoryUsageBytes() > 0);
        Assert.False(cgroup.OomKilled());

        // Not while a task lives in it; then it goes, and the node's subtree with it.
        Assert.False(cgroup.TryRemove());
        Assert.True(Directory.Exists(dir));
        process.Kill();
        await process.WaitForExitAsync().WaitAsync(Bound);
        await Eventually(() => cgroup.Pids().Count == 0, "the killed process gone from cgroup.procs");
        Assert.True(cgroup.TryRemove());
        Assert.False(Directory.Exists(dir));
        Assert.Null(manager.Membership(process.Id));

        manager.RemoveNodeTree();
        Assert.False(Directory.Exists(Path.Combine(hierarchy, Root)));
    }

    [SkippableFact]
    public void A_limit_the_hierarchy_cannot_hold_fails_the_create_and_leaves_no_cgroup()
    {
        Skip.If(HostCgroups.UnifiedHierarchy is null, "no cgroup2 hierarchy is mounted on this machine");
        Skip.IfNot(IsRoot, "making cgroups needs root");
        Skip.If(HasLimitControllers, "the cgroup2 hierarchy has memory and cpu here, so every limit can be held");
        var hierarchy = HostCgroups.UnifiedHierarchy!;
        var manager = CgroupV2Manager.TryOpen(hierarchy, HostCgroups.UnifiedControllers.ToArray(), Root, Node);
        Assert.NotNull(manager);

        Assert.ThrowsAny<Exception>(() => manager.Create("acme", "p2", new CgroupLimits(0, 64 * Mi)));

        Assert.False(Directory.Exists(Path.Combine(hierarchy, Root, Node, "acme", "p2")));
        manager.RemoveNodeTree();
        Assert.False(Directory.Exists(Path.Combine(hierarchy, Root)));
    }

    [SkippableFact]
    public void Limits_are_written_to_memory_max_and_cpu_max()
    {
        Skip.IfNot(IsRoot, "making cgroups needs root");
        Skip.IfNot(HasLimitControllers, NoLimitControllers);
        var manager = CgroupV2Manager.TryCreate("/sys/fs/cgroup", Root, Node);
        Assert.NotNull(manager);

        var cgroup = manager.Create("acme", "p3", new CgroupLimits(500, 64 * Mi));
        var dir = Path.Combine(HostCgroups.UnifiedHierarchy!, Root, Node, "acme", "p3");

        // 64 MiB; half a core is 50 ms of each 100 ms period.
        Assert.Equal("67108864", File.ReadAllText(Path.Combine(dir, "memory.max")).Trim());
        Assert.Equal("50000 100000", File.ReadAllText(Path.Combine(dir, "cpu.max")).Trim());
        var swap = Path.Combine(dir, "memory.swap.max");
        if (File.Exists(swap))
        {
            Assert.Equal("0", File.ReadAllText(swap).Trim());
        }

        Assert.True(cgroup.TryRemove());
        manager.RemoveNodeTree();
        Assert.False(Directory.Exists(Path.Combine(HostCgroups.UnifiedHierarchy!, Root)));
    }

    public void Dispose()
    {
        foreach (var p in started)
        {
            if (!p.HasExited)
            {
                p.Kill();
                p.WaitForExit(Bound);
            }

            p.Dispose();
        }

        // Whatever a failed test left, deepest first (rmdir of an empty cgroup).
        if (HostCgroups.UnifiedHierarchy is { } hierarchy && Directory.Exists(Path.Combine(hierarchy, Root)))
        {
            foreach (var dir in Directory.GetDirectories(Path.Combine(hierarchy, Root), "*", SearchOption.AllDirectories).OrderByDescending(d => d.Length))
            {
                Directory.Delete(dir);
            }

            Directory.Delete(Path.Combine(hierarchy, Root));
        }
    }

    private Process Start(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        var p = Process.Start(psi)!;
        started.Add(p);
        return p;
    }

    private static async Task Eventually(Func<bool> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < Bound, $"not within {Bound}: {what}");

            // Polling a kernel file that has no event to wait on, bounded above.
            await Task.Delay(50);
        }
    }
}
