using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Nefele.HostAgent.Cgroups;
using Nefele.HostAgent.Containers;
using Nefele.HostAgent.Engines;
using Nefele.HostAgent.Engines.Native;

namespace Nefele.HostAgent.Tests.Containers;

/// <summary>
/// Processes from an image started by hostd's engine in their tenant's container: the native
/// engine entering the container's namespaces, real systemd-nspawn, real processes.
/// </summary>
public sealed class ContainerEngineTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private readonly BusyboxRoot image = new();
    private readonly string state = Directory.CreateTempSubdirectory("nefele-cstate-").FullName;
    private readonly string shared = Directory.CreateTempSubdirectory("nefele-cshared-").FullName;
    private readonly string runDir = Path.Combine(Path.GetTempPath(), "nc-" + Guid.NewGuid().ToString("N")[..10]);
    private readonly string node = "c" + Guid.NewGuid().ToString("N")[..10];
    private readonly Dictionary<LocalProcessId, TaskCompletionSource<ProcessExit>> exits = [];
    private readonly CancellationTokenSource stop = new();
    private ContainerEngine engine = null!;
    private Task? reading;

    public Task InitializeAsync()
    {
        if (ContainerMachine.Missing is not null)
        {
            return Task.CompletedTask;
        }

        Directory.CreateDirectory(runDir);
        File.WriteAllText(Path.Combine(runDir, "api.sock"), "");
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
                Network = "private",
                StateDirectory = state,
                PausePath = Path.Combine(NativeBuild.RepoRoot, "native", "build", "nefele-pause"),
            },
        };
        options.ApplyDefaults();
        var native = new NativeEngine(options.SpawnLibraryPath, CgroupManagerFactory.Create(options), NullLogger<NativeEngine>.Instance);
        engine = new ContainerEngine(native, new ContainerManager(options, NullLogger<ContainerManager>.Instance));
        reading = Task.Run(async () =>
        {
            try
            {
                await foreach (var exit in engine.ExitsAsync(stop.Token))
                {
                    Exit(exit.Id).TrySetResult(exit);
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (ContainerMachine.Missing is null)
        {
            await stop.CancelAsync();
            await engine.DisposeAsync();
            await reading!;
            foreach (var h in Directory.GetDirectories("/sys/fs/cgroup"))
            {
                var dir = Path.Combine(h, "nefele", node);
                if (Directory.Exists(dir))
                {
                    foreach (var d in Directory.GetDirectories(dir, "*", SearchOption.AllDirectories).OrderByDescending(d => d.Length))
                    {
                        Directory.Delete(d);
                    }

                    Directory.Delete(dir);
                }
            }

            Directory.Delete(runDir, recursive: true);
        }

        image.Dispose();
        Directory.Delete(state, recursive: true);
        Directory.Delete(shared, recursive: true);
        stop.Dispose();
    }

    private TaskCompletionSource<ProcessExit> Exit(LocalProcessId id)
    {
        lock (exits)
        {
            if (!exits.TryGetValue(id, out var tcs))
            {
                tcs = new TaskCompletionSource<ProcessExit>(TaskCreationOptions.RunContinuationsAsynchronously);
                exits[id] = tcs;
            }

            return tcs;
        }
    }

    private LaunchSpec Spec(string tenant, uint uid, string path, params string[] args) => new(
        "p" + Guid.NewGuid().ToString("N")[..12], tenant, path, args,
        new Dictionary<string, string> { ["PATH"] = "/bin" }, "/",
        new CgroupLimits(0, 0), new ProcessIdentity(uid, uid, []),
        ProcessPaths.InContainer, ContainerManager.NameFor(tenant, image.Path), image.Path);

    private async Task<(ProcessExit Exit, string Output, StartedProcess Started)> RunAsync(LaunchSpec spec)
    {
        var started = await engine.StartAsync(spec, CancellationToken.None);
        using var reader = new StreamReader(started.Output, Encoding.UTF8);
        var output = await reader.ReadToEndAsync().WaitAsync(Bound);
        var exit = await Exit(started.Id).Task.WaitAsync(Bound);
        await engine.ReleaseAsync(started.Id);
        return (exit, output, started);
    }

    [SkippableFact]
    public async Task A_process_from_an_image_runs_in_its_tenant_container_with_its_exit_code_and_output()
    {
        Skip.If(ContainerMachine.Missing is not null, ContainerMachine.Missing);
        var spec = Spec("acme", 2000, "sh", "-c", "echo host $(hostname) pid $$ uid $(id -u); cat /etc/image-marker; exit 7");

        var (exit, output, started) = await RunAsync(spec);

        Assert.Equal(7, exit.ExitCode);
        Assert.Equal(0, exit.Signal);

        // Its pid 1 is the container's, so the shell is pid 2 there; hostd knows it by its host pid.
        Assert.Equal($"host {spec.Container} pid 2 uid 2000\nbusybox image\n", output);
        Assert.True(started.Pid > 2);
        await engine.Containers.StoppedAsync(spec.Container!).WaitAsync(Bound);
        Assert.Empty(engine.Containers.Running);
    }

    [SkippableFact]
    public async Task A_signal_ends_a_process_inside_and_its_pid_is_the_host_pid()
    {
        Skip.If(ContainerMachine.Missing is not null, ContainerMachine.Missing);
        var spec = Spec("acme", 2000, "sleep", "100");
        var started = await engine.StartAsync(spec, CancellationToken.None);

        var nspid = File.ReadAllLines($"/proc/{started.Pid}/status").Single(l => l.StartsWith("NSpid:", StringComparison.Ordinal)).Split('\t', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(started.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), nspid[1]);
        Assert.Equal("2", nspid[^1]);

        Assert.True(await engine.SignalAsync(started.Id, 15, SignalTarget.MainProcess, CancellationToken.None));
        var exit = await Exit(started.Id).Task.WaitAsync(Bound);
        Assert.Equal(15, exit.Signal);
        started.Output.Dispose();
        await engine.ReleaseAsync(started.Id);
    }

    [SkippableFact]
    public async Task Two_tenants_on_one_node_see_neither_each_others_processes_nor_files_nor_network()
    {
        Skip.If(ContainerMachine.Missing is not null, ContainerMachine.Missing);
        var sleeper = await engine.StartAsync(Spec("acme", 2000, "sh", "-c", "echo acme-secret > /shared/acme-file; echo ready; exec sleep 100"), CancellationToken.None);
        using var sleeperOut = new StreamReader(sleeper.Output);
        Assert.Equal("ready", await sleeperOut.ReadLineAsync().WaitAsync(Bound));

        var (exit, output, _) = await RunAsync(Spec("bolt", 2001, "sh", "-c", "ps -o comm; echo files: $(ls /shared); ip -o link | wc -l; ls /proc | grep -c '^[0-9]'"));

        Assert.Equal(0, exit.ExitCode);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.DoesNotContain("sleep", output, StringComparison.Ordinal);
        Assert.Contains("files:", lines);
        Assert.Equal("1", lines[^2]); // only loopback
        Assert.True(int.Parse(lines[^1], System.Globalization.CultureInfo.InvariantCulture) <= 4, $"bolt sees more processes than its own: {output}");

        // acme's own container does see its process.
        var (_, acmeView, _) = await RunAsync(Spec("acme", 2000, "sh", "-c", "ps -o comm; ls /shared"));
        Assert.Contains("sleep", acmeView, StringComparison.Ordinal);
        Assert.Contains("acme-file", acmeView, StringComparison.Ordinal);

        await engine.SignalAsync(sleeper.Id, 9, SignalTarget.All, CancellationToken.None);
        await Exit(sleeper.Id).Task.WaitAsync(Bound);
        await engine.ReleaseAsync(sleeper.Id);
    }

    [SkippableFact]
    public async Task Production_root_is_read_only_to_the_process()
    {
        Skip.If(ContainerMachine.Missing is not null, ContainerMachine.Missing);
        var (exit, output, _) = await RunAsync(Spec("acme", 0, "sh", "-c", "touch /etc/changed 2>&1; echo done"));

        Assert.Equal(0, exit.ExitCode);
        Assert.Contains("Read-only file system", output, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(image.Path, "etc", "changed")));
    }

    [SkippableFact]
    public async Task A_program_missing_from_the_image_is_refused_by_name()
    {
        Skip.If(ContainerMachine.Missing is not null, ContainerMachine.Missing);
        var e = await Assert.ThrowsAsync<SpawnRejectedException>(() => engine.StartAsync(Spec("acme", 2000, "no-such-program"), CancellationToken.None));

        Assert.Equal(Nefele.Client.ErrorCodes.ProgramNotFound, e.Code);
        Assert.Contains("no-such-program", e.Message, StringComparison.Ordinal);
        Assert.Contains("container", e.Message, StringComparison.Ordinal);
    }
}
