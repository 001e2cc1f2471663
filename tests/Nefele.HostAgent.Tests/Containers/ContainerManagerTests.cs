using Microsoft.Extensions.Logging.Abstractions;
using Nefele.HostAgent.Containers;

namespace Nefele.HostAgent.Tests.Containers;

/// <summary>Tenant containers started, isolated and stopped by the manager, with real systemd-nspawn.</summary>
public sealed class ContainerManagerTests : IAsyncLifetime
{
    private readonly BusyboxRoot image = new();
    private readonly string state = Directory.CreateTempSubdirectory("nefele-cstate-").FullName;
    private readonly string shared = Directory.CreateTempSubdirectory("nefele-cshared-").FullName;
    private readonly string runDir = Path.Combine(Path.GetTempPath(), "nc-" + Guid.NewGuid().ToString("N")[..10]);
    private readonly string node = "c" + Guid.NewGuid().ToString("N")[..10];
    private readonly List<ContainerManager> managers = [];

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(runDir);

        // The api socket hostd would serve: here only a file for nspawn to bind.
        File.WriteAllText(Path.Combine(runDir, "api.sock"), "");
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var m in managers)
        {
            await m.DisposeAsync();
        }

        foreach (var h in Directory.GetDirectories("/sys/fs/cgroup"))
        {
            var dir = Path.Combine(h, "nefele", node);
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir);
            }
        }

        image.Dispose();
        Directory.Delete(state, recursive: true);
        Directory.Delete(shared, recursive: true);
        Directory.Delete(runDir, recursive: true);
    }

    private ContainerManager Manager(string mode = "production")
    {
        var options = new HostAgentOptions
        {
            Node = node,
            RunDirectory = runDir,
            ShimPath = NativeBuild.ShimPath,
            SpawnLibraryPath = NativeBuild.SpawnLibraryPath,
            StopGrace = TimeSpan.FromSeconds(2),
            SharedDirectory = shared,
            Containers = new ContainerOptions
            {
                Linger = TimeSpan.Zero,
                Mode = mode,
                StateDirectory = state,
                PausePath = Path.Combine(NativeBuild.RepoRoot, "native", "build", "nefele-pause"),
            },
        };
        options.ApplyDefaults();
        var manager = new ContainerManager(options, NullLogger<ContainerManager>.Instance);
        managers.Add(manager);
        return manager;
    }

    [SkippableFact]
    public async Task Container_runs_pause_as_pid_1_in_its_own_namespaces_and_stops_when_released()
    {
        Skip.If(ContainerMachine.Missing is not null, ContainerMachine.Missing);
        var manager = Manager();
        var name = ContainerManager.NameFor("acme", image.Path);

        var c = await manager.AcquireAsync(name, "acme", image.Path, 2000, 2000, CancellationToken.None);

        Assert.Equal(name, c.Name);
        Assert.False(c.Boots);
        Assert.EndsWith("/nefele-pause", new FileInfo($"/proc/{c.LeaderPid}/exe").LinkTarget);
        Assert.Equal("1", File.ReadAllLines($"/proc/{c.LeaderPid}/status").Single(l => l.StartsWith("NSpid:", StringComparison.Ordinal)).Split('\t')[^1]);
        foreach (var kind in new[] { "pid", "mnt", "net", "uts", "ipc" })
        {
            Assert.NotEqual(ContainerMachine.Namespace(Environment.ProcessId, kind), ContainerMachine.Namespace(c.LeaderPid, kind));
        }

        // The image is the root, the shim and /shared are bound in.
        Assert.Equal("busybox image\n", File.ReadAllText($"{c.RootPath}/etc/image-marker"));
        Assert.True(new FileInfo($"{c.RootPath}/usr/lib/nefele/libnefele-shim.so").Length > 0);
        Assert.True(Directory.Exists(Path.Combine(shared, "tenants", "acme")));

        var leader = c.LeaderPid;
        var cgroup = Path.Combine("/sys/fs/cgroup/memory", c.Cgroup);
        Assert.True(Directory.Exists(cgroup) || !Directory.Exists("/sys/fs/cgroup/memory"));

        manager.Release(name);
        await manager.StoppedAsync(name).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Empty(manager.Running);
        Assert.False(Directory.Exists($"/proc/{leader}") && File.ReadAllText($"/proc/{leader}/cmdline").Contains("nefele-pause", StringComparison.Ordinal));
        Assert.False(Directory.Exists(cgroup));
    }

    [SkippableFact]
    public async Task Production_root_is_read_only_and_the_image_is_untouched()
    {
        Skip.If(ContainerMachine.Missing is not null, ContainerMachine.Missing);
        var manager = Manager();
        var name = ContainerManager.NameFor("acme", image.Path);
        var c = await manager.AcquireAsync(name, "acme", image.Path, 2000, 2000, CancellationToken.None);

        var error = Assert.ThrowsAny<IOException>(() => File.WriteAllText($"{c.RootPath}/etc/changed", "x"));
        Assert.Contains("Read-only", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.False(File.Exists(Path.Combine(image.Path, "etc", "changed")));
        Assert.False(Directory.Exists(Path.Combine(image.Path, "usr")), "the bind mount points must not be made in the image");
        manager.Release(name);
    }

    [SkippableFact]
    public async Task Development_changes_persist_in_the_overlay_across_container_restarts()
    {
        Skip.If(ContainerMachine.Missing is not null, ContainerMachine.Missing);
        var manager = Manager("development");
        var name = ContainerManager.NameFor("acme", image.Path);
        var first = await manager.AcquireAsync(name, "acme", image.Path, 2000, 2000, CancellationToken.None);
        File.WriteAllText($"{first.RootPath}/etc/changed", "kept\n");
        var firstLeader = first.LeaderPid;
        manager.Release(name);
        await manager.StoppedAsync(name).WaitAsync(TimeSpan.FromSeconds(10));

        var second = await manager.AcquireAsync(name, "acme", image.Path, 2000, 2000, CancellationToken.None);

        Assert.NotEqual(firstLeader, second.LeaderPid);
        Assert.Equal("kept\n", File.ReadAllText($"{second.RootPath}/etc/changed"));
        Assert.False(File.Exists(Path.Combine(image.Path, "etc", "changed")), "the image itself never changes");
        Assert.True(File.Exists(Path.Combine(manager.UpperDirectory("acme", image.Path), "etc", "changed")));
        manager.Release(name);
    }

    [SkippableFact]
    public async Task Two_tenants_get_separate_containers_namespaces_and_shared_dirs()
    {
        Skip.If(ContainerMachine.Missing is not null, ContainerMachine.Missing);
        var manager = Manager();
        var a = await manager.AcquireAsync(ContainerManager.NameFor("acme", image.Path), "acme", image.Path, 2000, 2000, CancellationToken.None);
        var b = await manager.AcquireAsync(ContainerManager.NameFor("bolt", image.Path), "bolt", image.Path, 2001, 2001, CancellationToken.None);

        Assert.NotEqual(a.Name, b.Name);
        foreach (var kind in new[] { "pid", "mnt", "net", "uts", "ipc" })
        {
            Assert.NotEqual(ContainerMachine.Namespace(a.LeaderPid, kind), ContainerMachine.Namespace(b.LeaderPid, kind));
        }

        File.WriteAllText($"{a.RootPath}/shared/only-acme", "a");
        Assert.False(File.Exists($"{b.RootPath}/shared/only-acme"));
        Assert.Equal(2001L, FileOwner.Uid(Path.Combine(shared, "tenants", "bolt")));
        manager.Release(a.Name);
        manager.Release(b.Name);
    }

    [SkippableFact]
    public async Task A_second_user_shares_the_running_container_and_a_missing_image_is_refused()
    {
        Skip.If(ContainerMachine.Missing is not null, ContainerMachine.Missing);
        var manager = Manager();
        var name = ContainerManager.NameFor("acme", image.Path);
        var first = await manager.AcquireAsync(name, "acme", image.Path, 2000, 2000, CancellationToken.None);
        var second = await manager.AcquireAsync(name, "acme", image.Path, 2000, 2000, CancellationToken.None);
        Assert.Same(first, second);
        manager.Release(name);
        Assert.Single(manager.Running);
        Assert.True(Directory.Exists($"/proc/{first.LeaderPid}"));
        manager.Release(name);
        await manager.StoppedAsync(name).WaitAsync(TimeSpan.FromSeconds(10));

        var missing = Path.Combine(state, "no-such-image");
        var e = await Assert.ThrowsAsync<Nefele.HostAgent.Engines.SpawnRejectedException>(
            () => manager.AcquireAsync(ContainerManager.NameFor("acme", missing), "acme", missing, 2000, 2000, CancellationToken.None));
        Assert.Contains(missing, e.Message, StringComparison.Ordinal);
        Assert.Empty(manager.Running);
    }
}
