using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Nefele.HostAgent.Cgroups;
using Nefele.HostAgent.Engines;
using Nefele.HostAgent.Engines.Native;

namespace Nefele.HostAgent.Tests;

/// <summary>
/// spawn --tty through the native engine: the process runs on a pseudo-terminal that is its
/// stdin, stdout, stderr and controlling terminal; hostd's master reads what it shows, types
/// into it and sets its window size.
/// </summary>
public sealed class TerminalEngineTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly string id = Guid.NewGuid().ToString("N")[..10];
    private NativeEngine? engine;

    [Fact]
    public async Task A_tty_process_gets_the_terminal_as_its_controlling_terminal_reads_what_is_typed_and_sees_the_window_size()
    {
        var spec = Spec("/bin/sh", "-c", "tty; exec 3</dev/tty && echo ctty-ok; stty size; read line; echo \"got:$line\"; stty size") with { Tty = true };
        var started = await engine!.StartAsync(spec, CancellationToken.None);
        Assert.NotNull(started.Terminal);
        var screen = new StringBuilder();
        var buffer = new byte[4096];

        async Task Until(string text)
        {
            using var timeout = new CancellationTokenSource(Bound);
            while (!screen.ToString().Contains(text, StringComparison.Ordinal))
            {
                var n = await started.Output.ReadAsync(buffer, timeout.Token);
                Assert.True(n > 0, $"the terminal ended before \"{text}\" appeared; it showed: {screen}");
                screen.Append(Encoding.UTF8.GetString(buffer, 0, n));
            }
        }

        await Until("ctty-ok");
        Assert.Contains("/dev/pts/", screen.ToString(), StringComparison.Ordinal);
        await Until($"{PseudoTerminal.DefaultRows} {PseudoTerminal.DefaultColumns}");

        started.Terminal.Resize(40, 100);
        started.Terminal.Write("hello\n"u8);
        await Until("got:hello");
        await Until("40 100");

        // The slave's last holder is gone: the master reads to its end.
        using var timeout = new CancellationTokenSource(Bound);
        while (await started.Output.ReadAsync(buffer, timeout.Token) > 0)
        {
        }

        await foreach (var exit in engine.ExitsAsync(timeout.Token))
        {
            Assert.Equal(started.Id, exit.Id);
            Assert.Equal(0, exit.ExitCode);
            break;
        }

        started.Terminal.Dispose();
    }

    [Fact]
    public async Task A_process_without_tty_has_no_terminal_and_no_controlling_terminal()
    {
        var started = await engine!.StartAsync(Spec("/bin/sh", "-c", "if (exec 3</dev/tty) 2>/dev/null; then echo has-ctty; else echo no-ctty; fi"), CancellationToken.None);
        Assert.Null(started.Terminal);
        using var reader = new StreamReader(started.Output);
        var text = await reader.ReadToEndAsync().WaitAsync(Bound);
        Assert.Contains("no-ctty", text, StringComparison.Ordinal);
    }

    public Task InitializeAsync()
    {
        var options = new HostAgentOptions { Node = "t" + id, CgroupRoot = "nefele-test-" + id };
        engine = new NativeEngine(NativeBuild.SpawnLibraryPath, CgroupManagerFactory.Create(options), NullLogger<NativeEngine>.Instance);
        Assert.True(engine.Capabilities.Terminal);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (engine is not null)
        {
            await engine.DisposeAsync();
        }
    }

    private static LaunchSpec Spec(string path, params string[] args) => new(
        "p1", "acme", path, args,
        new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin" },
        "/",
        new CgroupLimits(0, 0),
        new ProcessIdentity(0, 0, []),
        new ProcessPaths("/nonexistent/api.sock", "/nonexistent/libnefele-shim.so"));
}
