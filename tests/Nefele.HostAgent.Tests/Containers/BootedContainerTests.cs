using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Nefele.HostAgent.Cgroups;
using Nefele.HostAgent.Containers;
using Nefele.HostAgent.Engines;
using Nefele.HostAgent.Engines.Native;
using Nefele.Protocol;
using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Tests.Containers;

/// <summary>
/// Processes in a booted tenant container (an image with systemd, which is the container's pid 1)
/// run as transient units of that systemd, started over its bus: real systemd-nspawn, the Debian
/// image of scripts/images (its root directory in NEFELE_TEST_SYSTEMD_IMAGE, which scripts/test
/// sets: <c>scripts/images root debian</c>), real processes, and an api socket that answers the
/// shim's hello as hostd does, identifying the caller by its host pid.
/// </summary>
public sealed class BootedContainerTests : IAsyncLifetime
{
    private const string Tenant = "booted";
    private const uint Uid = 2000;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private static readonly string? ImageRoot = Environment.GetEnvironmentVariable("NEFELE_TEST_SYSTEMD_IMAGE") is { Length: > 0 } dir && Directory.Exists(dir) ? dir : null;
    private readonly string state = Directory.CreateTempSubdirectory("nefele-bstate-").FullName;
    private readonly string shared = Directory.CreateTempSubdirectory("nefele-bshared-").FullName;
    private readonly string runDir = Path.Combine(Path.GetTempPath(), "nb-" + Guid.NewGuid().ToString("N")[..10]);
    private readonly string node = "b" + Guid.NewGuid().ToString("N")[..10];
    private readonly Dictionary<LocalProcessId, TaskCompletionSource<ProcessExit>> exits = [];
    private readonly CancellationTokenSource stop = new();
    private ContainerEngine engine = null!;
    private Socket api = null!;
    private Task? reading;

    private static string? Missing =>
        ContainerMachine.Missing ?? (ImageRoot is null ? "NEFELE_TEST_SYSTEMD_IMAGE names no image root (scripts/test sets it: scripts/images root debian)" : null);

    public Task InitializeAsync()
    {
        if (Missing is not null)
        {
            return Task.CompletedTask;
        }

        Directory.CreateDirectory(runDir);
        var options = new HostAgentOptions
        {
            Node = node,
            RunDirectory = runDir,
            ShimPath = NativeBuild.ShimPath,
            SpawnLibraryPath = NativeBuild.SpawnLibraryPath,
            StopGrace = TimeSpan.FromSeconds(5),
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

        // The api socket the container's processes reach at /run/nefele/api.sock.
        api = UnixSockets.Listen(options.ApiSocketPath, (UnixFileMode)0b110_110_110);
        var native = new NativeEngine(options.SpawnLibraryPath, CgroupManagerFactory.Create(options), NullLogger<NativeEngine>.Instance);
        engine = new ContainerEngine(native, new ContainerManager(options, NullLogger<ContainerManager>.Instance), node, NullLoggerFactory.Instance);
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
        if (Missing is null)
        {
            await stop.CancelAsync();
            await engine.DisposeAsync();
            await reading!;
            api.Dispose();
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

        Directory.Delete(state, recursive: true);
        Directory.Delete(shared, recursive: true);
        stop.Dispose();
    }

    [SkippableFact]
    public async Task A_process_is_a_unit_of_the_containers_systemd_with_its_output_exit_code_and_the_shims_handshake()
    {
        Skip.If(Missing is not null, Missing);
        var spec = Spec("/bin/sh", "-c", "grep -o 'nefele-[^/]*[.]service' /proc/self/cgroup | head -n 1; echo npid=$NEFELE_NPID uid=$(id -u); exit 7") with
        {
            Environment = new Dictionary<string, string>
            {
                ["PATH"] = "/usr/bin:/bin",
                ["NEFELE_SOCKET"] = ProcessPaths.ContainerApiSocket,
                ["NEFELE_TOKEN"] = "booted-token",
                ["LD_PRELOAD"] = ProcessPaths.ContainerShim,
            },
        };
        var launched = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var hello = AnswerHelloAsync(spec.Npid, launched.Task);

        var started = await engine.StartAsync(spec, CancellationToken.None);
        launched.SetResult();
        var (peerPid, token, owner) = await hello.WaitAsync(Bound);
        using var reader = new StreamReader(started.Output, Encoding.UTF8);
        var output = await reader.ReadToEndAsync().WaitAsync(Bound);
        var exit = await Exit(started.Id).Task.WaitAsync(Bound);

        // The unit of the container's systemd, in its own hierarchy.
        Assert.Equal($"nefele-{spec.Npid}.service\nnpid={spec.Npid} uid={Uid}\n", output);
        Assert.Equal(7, exit.ExitCode);
        Assert.Equal(0, exit.Signal);

        // The shim's hello came from the process itself, known by its host pid (SO_PEERCRED),
        // which the engine also owns by its unit's cgroup.
        Assert.Equal("booted-token", token);
        Assert.Equal(started.Pid, peerPid);
        Assert.Equal(started.Id, owner);
        Assert.StartsWith(spec.Container + "/", started.Id.Value, StringComparison.Ordinal);

        await engine.ReleaseAsync(started.Id);
        await engine.Containers.StoppedAsync(spec.Container!).WaitAsync(Bound);
        Assert.Empty(engine.Containers.Running);
    }

    [SkippableFact]
    public async Task A_signal_reaches_a_unit_and_a_container_that_dies_reports_its_processes_killed()
    {
        Skip.If(Missing is not null, Missing);
        var first = await engine.StartAsync(Spec("/bin/sleep", "1000"), CancellationToken.None);
        var second = await engine.StartAsync(Spec("/bin/sleep", "1000"), CancellationToken.None);
        Assert.NotEqual(first.Pid, second.Pid);
        Assert.True(first.Pid > 1);

        Assert.True(await engine.SignalAsync(first.Id, 15, SignalTarget.MainProcess, CancellationToken.None));
        var ended = await Exit(first.Id).Task.WaitAsync(Bound);
        Assert.Equal(15, ended.Signal);
        first.Output.Dispose();
        await engine.ReleaseAsync(first.Id);

        // The container's systemd dies under the second: its exit is reported once, as killed,
        // and what is asked of it afterwards fails quietly.
        var container = Assert.Single(engine.Containers.Running);
        Assert.True(container.Boots);
        Assert.Equal(0, Interop.LibC.kill(container.LeaderPid, 9));
        var lost = await Exit(second.Id).Task.WaitAsync(Bound);
        Assert.Equal(9, lost.Signal);
        Assert.False(await engine.SignalAsync(second.Id, 15, SignalTarget.All, CancellationToken.None));
        Assert.Null(engine.Usage(second.Id));
        second.Output.Dispose();
        await engine.ReleaseAsync(second.Id);
        await engine.Containers.StoppedAsync(container.Name).WaitAsync(Bound);
    }

    private LaunchSpec Spec(string path, params string[] args) => new(
        ApiPeer.NewNpid(), Tenant, path, args,
        new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin" }, "/",
        new CgroupLimits(0, 0), new ProcessIdentity(Uid, Uid, []),
        ProcessPaths.InContainer, ContainerManager.NameFor(Tenant, ImageRoot!), ImageRoot);

    /// <summary>Accepts one connection on the api socket and answers its hello with a welcome, as hostd does; returns who called.</summary>
    /// <summary>
    /// Answers the shim's hello as hostd does: once the launch it belongs to has returned (a hello
    /// can come first: the unit's job ends at exec), asking the engine who owns the peer while the
    /// process still waits for its welcome.
    /// </summary>
    private async Task<(int Pid, string Token, LocalProcessId? Owner)> AnswerHelloAsync(string npid, Task launched)
    {
        using var peer = await api.AcceptAsync();
        var (pid, _, _) = UnixSockets.PeerCredentials(peer);
        await launched.WaitAsync(Bound);
        var owner = engine.OwnerOf(pid);
        await using var stream = new NetworkStream(peer, ownsSocket: false);
        var request = await FrameCodec.ReadAsync(stream, ProcRequest.Parser, CancellationToken.None)
            ?? throw new InvalidOperationException("the api socket closed before a hello");
        await FrameCodec.WriteAsync(stream, new ProcResponse { Id = request.Id, Welcome = new Welcome { Npid = npid, Tenant = Tenant, Node = node } }, CancellationToken.None);
        return (pid, request.Hello.Token, owner);
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
}
