using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging.Abstractions;
using Nefele.HostAgent.Cgroups;
using Nefele.HostAgent.Engines;
using Nefele.HostAgent.Engines.Native;

namespace Nefele.HostAgent.Tests;

/// <summary>
/// The native engine through the engine seam alone (<see cref="IProcessEngine"/>), under a cgroup
/// root of its own that is removed afterwards: what a signal reaches, what release frees, and
/// what recovery does with a previous engine's processes. What depends on cgroups is asserted
/// for the machine's flavour (<see cref="HostCgroups.Flavor"/>).
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1859", Justification = "the engine is driven through the seam's interface on purpose")]
public sealed partial class NativeEngineTests : IAsyncLifetime
{
    private const int SigKill = 9;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly string id = Guid.NewGuid().ToString("N")[..10];
    private readonly List<IProcessEngine> engines = [];

    private static bool HasCgroups => HostCgroups.Flavor != "none";

    [Fact]
    public async Task Signal_to_the_main_process_spares_its_children_and_signal_to_all_reaches_them_through_its_cgroup()
    {
        var engine = NewEngine();
        var started = await engine.StartAsync(Spec("/bin/sh", "-c", "sleep 300 & echo $!; wait"), CancellationToken.None);
        var child = await FirstLineAsPidAsync(started.Output);

        Assert.True(await engine.SignalAsync(started.Id, SigKill, SignalTarget.MainProcess, CancellationToken.None));
        var exit = await NextExitAsync(engine);
        Assert.Equal(started.Id, exit.Id);
        Assert.Equal(SigKill, exit.Signal);
        Assert.True(IsRunning(child), "SignalTarget.MainProcess reached the process's child");

        // The process has ended but is not released: its cgroup still holds the child.
        var reached = await engine.SignalAsync(started.Id, SigKill, SignalTarget.All, CancellationToken.None);
        Assert.Equal(HasCgroups, reached);
        if (HasCgroups)
        {
            await Until(() => !IsRunning(child), "the child ended by SignalTarget.All");
        }
        else
        {
            Kill(child, SigKill);
        }
    }

    [Fact]
    public async Task A_released_process_is_no_longer_signalled_or_measured_and_its_cgroup_is_gone()
    {
        var engine = NewEngine();
        var started = await engine.StartAsync(Spec("/bin/true"), CancellationToken.None);
        var exit = await NextExitAsync(engine);
        Assert.Equal(0, exit.ExitCode);
        Assert.NotNull(engine.Usage(started.Id));

        await engine.ReleaseAsync(started.Id);

        Assert.False(await engine.SignalAsync(started.Id, SigKill, SignalTarget.All, CancellationToken.None));
        Assert.Null(engine.Usage(started.Id));
        Assert.All(ProcessDirectories(), dir => Assert.False(Directory.Exists(dir), dir));
    }

    [Fact]
    public async Task Recover_stops_what_a_previous_engine_of_the_node_left_running_and_adopts_none()
    {
        var previous = NewEngine();
        var started = await previous.StartAsync(Spec("/bin/sleep", "300"), CancellationToken.None);
        await previous.DisposeAsync();
        Assert.True(IsRunning(started.Pid));

        var next = NewEngine();
        var recovered = await next.RecoverAsync(CancellationToken.None);

        Assert.Empty(recovered);
        Assert.False(next.Capabilities.Recover);
        Assert.Equal(HasCgroups, !IsRunning(started.Pid));

        // Nobody reaps it now but its parent, this test process.
        Kill(started.Pid, SigKill);
        await Until(() => WaitPid(started.Pid, out _, 1 /* WNOHANG */) == started.Pid, "the stopped process reaped");
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        // Each removes its node subtree (and the root, once empty) on dispose.
        foreach (var engine in engines)
        {
            await engine.DisposeAsync();
        }
    }

    private string Root => "nefele-test-" + id;

    private string Node => "e" + id;

    /// <summary>Where the process "p1" of tenant "acme" has its cgroup on this machine's flavour.</summary>
    private IEnumerable<string> ProcessDirectories() =>
        HostCgroups.Flavor switch
        {
            "v2" => [Path.Combine(HostCgroups.UnifiedHierarchy!, Root, Node, "acme", "p1")],
            "v1" => [Path.Combine("/sys/fs/cgroup", "memory", Root, Node, "acme", "p1"), Path.Combine("/sys/fs/cgroup", "cpu", Root, Node, "acme", "p1")],
            _ => [],
        };

    private NativeEngine NewEngine()
    {
        var options = new HostAgentOptions { Node = Node, CgroupRoot = Root };
        var engine = new NativeEngine(NativeBuild.SpawnLibraryPath, CgroupManagerFactory.Create(options), NullLogger<NativeEngine>.Instance);
        engines.Add(engine);
        return engine;
    }

    private static LaunchSpec Spec(string path, params string[] args) => new(
        "p1", "acme", path, args,
        new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin" },
        "/",
        new CgroupLimits(0, 0),
        new ProcessIdentity(0, 0, []),
        new ProcessPaths("/nonexistent/api.sock", "/nonexistent/libnefele-shim.so"));

    private static async Task<ProcessExit> NextExitAsync(IProcessEngine engine)
    {
        using var timeout = new CancellationTokenSource(Bound);
        await foreach (var exit in engine.ExitsAsync(timeout.Token))
        {
            return exit;
        }

        throw new InvalidOperationException("the engine's exits ended");
    }

    private static async Task<int> FirstLineAsPidAsync(Stream output)
    {
        using var reader = new StreamReader(output);
        var line = await reader.ReadLineAsync().WaitAsync(Bound);
        return int.Parse(line ?? throw new InvalidOperationException("no output"), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Bound;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not within {Bound}: {what}");
            await Task.Delay(20);
        }
    }

    /// <summary>True while the process exists and is not a zombie.</summary>
    private static bool IsRunning(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].TrimStart()[0] is not 'Z' and not 'X';
        }
        catch (IOException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "waitpid")]
    private static partial int WaitPid(int pid, out int status, int options);
}
