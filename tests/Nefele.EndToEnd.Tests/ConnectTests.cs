using Nefele.Client;
using Nefele.Testing;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>
/// nefele connect APP in a real terminal (tmux): a shell from the application's image on the node
/// and in the container its process runs in, attached, and killed when the attach ends.
/// </summary>
public sealed class ConnectTests(ImageNodeFixture fixture) : IClassFixture<ImageNodeFixture>
{
    private const string Tenant = "connects";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private static readonly ImageConfig BusyboxConfig = new() { Cmd = ["/bin/sleep", "600"], Env = new Dictionary<string, string> { ["PATH"] = "/bin" } };

    private NodeUnderTest Node => fixture.Node;

    [Fact]
    public async Task Connect_opens_a_shell_beside_the_application_and_kills_it_when_the_attach_ends()
    {
        var tenant = await Node.SdkAsync(Tenant);
        var images = tenant.Images;
        await using (var layer = File.OpenRead(fixture.Busybox))
        {
            await images.PushAsync("connectbox:1", layer, BusyboxConfig).WaitAsync(Bound);
        }

        var app = "shellapp" + Guid.NewGuid().ToString("N")[..6];
        var started = await NefeleAsync("start", "connectbox:1", "--name", app, "--no-handshake");
        Assert.True(started.Code == 0, started.Stderr);
        var root = started.Stdout.Trim();
        try
        {
            var rootInfo = await Eventually.Value(async () => await tenant.GetAsync(root) is { State: ProcessState.Running } i ? i : null, Bound, "the application running");

            // Detached: the shell goes with the attach.
            string shell;
            await using (var terminal = await ConnectAsync(app))
            {
                shell = await ShellAsync(tenant, root);
                var info = await tenant.GetAsync(shell);
                Assert.Equal(rootInfo.Node, info.Node);
                Assert.Equal(rootInfo.Container, info.Container);
                await PromptAsync(terminal);
                await terminal.TypeAsync("echo image-$((6*7))");
                await terminal.SendKeysAsync("Enter");
                await terminal.WaitForAsync("image-42");
                await terminal.SendKeysAsync("C-p", "C-q");
                await terminal.WaitForAsync("exit-status=0");
            }

            Assert.True((await tenant.WaitAsync(shell).WaitAsync(Bound)).Signal == Signals.SigKill);
            Assert.Equal(ProcessState.Running, (await tenant.GetAsync(root)).State);

            // Exiting the shell ends connect with its status.
            await using (var terminal = await ConnectAsync(app))
            {
                shell = await ShellAsync(tenant, root);
                await PromptAsync(terminal);
                await terminal.TypeAsync("exit 5");
                await terminal.SendKeysAsync("Enter");
                await terminal.WaitForAsync("exit-status=5");
            }

            Assert.Equal(5, (await tenant.WaitAsync(shell).WaitAsync(Bound)).ExitCode);
        }
        finally
        {
            await NefeleAsync("stop", app);
            await Cleanup.KillAsync(tenant, (await tenant.PsAsync()).Where(p => p.Tty).Select(p => p.Npid).Append(root));
        }
    }

    private Task<TmuxTerminal> ConnectAsync(string app) =>
        TmuxTerminal.StartAsync(Environment(), [Path.Combine(RepoPaths.Root, "bin", "nefele"), "--tenant", Tenant, "connect", app]);

    /// <summary>The shell connect started: the tenant's one tty process other than the application's.</summary>
    private static Task<string> ShellAsync(NefeleTenant tenant, string root) =>
        Eventually.Value(
            async () => (await tenant.PsAsync()).FirstOrDefault(p => p.Tty && p.Npid != root && p.State == ProcessState.Running)?.Npid,
            Bound,
            "the shell of nefele connect running");

    private static async Task PromptAsync(TmuxTerminal terminal) =>
        await Eventually.Until(
            async () =>
            {
                await terminal.SendKeysAsync("Enter");
                await Task.Delay(TimeSpan.FromMilliseconds(200));
                var screen = await terminal.ScreenAsync();
                return screen.Contains('#', StringComparison.Ordinal) || screen.Contains('$', StringComparison.Ordinal);
            },
            Bound,
            "the shell's prompt through nefele connect");

    private Task<(int Code, string Stdout, string Stderr)> NefeleAsync(params string[] args) =>
        NodeUnderTest.RunAsync(Path.Combine(RepoPaths.Root, "bin", "nefele"), ["--tenant", Tenant, .. args], Environment().ToDictionary(e => e.Key, e => (string?)e.Value), Bound);

    private Dictionary<string, string> Environment() => new()
    {
        ["NEFELE_API"] = Node.ApiUrl,
        ["NEFELE_TOKEN"] = Node.AdminKey,
        ["NEFELE_ADMIN_KEY_FILE"] = "/nonexistent",
        ["XDG_CONFIG_HOME"] = "/nonexistent",
    };
}
