using System.Net;
using System.Net.WebSockets;
using System.Text;
using Nefele.Auth;
using Nefele.Client;
using Nefele.Testing;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>
/// nef attach in a real terminal (tmux) against tty processes, read-only attach, and the attach
/// WebSocket's refusals at the REST level.
/// </summary>
public sealed class AttachTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private NodeUnderTest Node => fixture.Node;

    [Fact]
    public async Task Attach_types_into_the_terminal_with_one_echo_and_passes_a_resize_to_the_process()
    {
        var tenant = await Node.SdkAsync();
        var npid = await SpawnShellAsync(tenant);
        try
        {
            await using var terminal = await AttachAsync(npid);
            await AttachedAsync(terminal, tenant, npid);

            // Raw mode: the local terminal echoes nothing, the process's terminal echoes once.
            await terminal.TypeAsync("echo ab''cd");
            await terminal.SendKeysAsync("Enter");
            var screen = await terminal.WaitForAsync(s => s.Split('\n').Any(l => l.Trim() == "abcd"), "the command's output");
            Assert.Equal(1, Occurrences(screen, "echo ab''cd"));

            await terminal.ResizeAsync(90, 25);
            var size = await terminal.PaneSizeAsync();
            Assert.NotEqual("30 100", size);
            await terminal.TypeAsync("stty size");
            await terminal.SendKeysAsync("Enter");
            await terminal.WaitForAsync(s => s.Split('\n').Any(l => l.Trim() == size), $"stty size answering {size}");
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npid);
        }
    }

    [Fact]
    public async Task Detach_keys_leave_the_process_running_and_a_second_attach_reaches_it()
    {
        var tenant = await Node.SdkAsync();
        var npid = await SpawnShellAsync(tenant);
        try
        {
            await using (var first = await AttachAsync(npid))
            {
                await AttachedAsync(first, tenant, npid);
                await first.SendKeysAsync("C-p", "C-q");
                var screen = await first.WaitForAsync("exit-status=0");
                Assert.Contains("detached", screen, StringComparison.Ordinal);
            }

            Assert.Equal(ProcessState.Running, (await tenant.GetAsync(npid)).State);

            await using var second = await AttachAsync(npid);
            await AttachedAsync(second, tenant, npid);
            await second.TypeAsync("echo second-$((40+2))");
            await second.SendKeysAsync("Enter");
            await second.WaitForAsync("second-42");

            // A ctrl-p not followed by ctrl-q reaches the process with the key after it.
            await second.SendKeysAsync("C-p", "x");
            Assert.Equal(ProcessState.Running, (await tenant.GetAsync(npid)).State);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npid);
        }
    }

    [Fact]
    public async Task The_process_ending_ends_attach_with_its_exit_status()
    {
        var tenant = await Node.SdkAsync();
        var npid = await SpawnShellAsync(tenant);
        try
        {
            await using var terminal = await AttachAsync(npid);
            await AttachedAsync(terminal, tenant, npid);
            await terminal.TypeAsync("exit 7");
            await terminal.SendKeysAsync("Enter");
            var screen = await terminal.WaitForAsync("exit-status=7");
            Assert.DoesNotContain("detached", screen, StringComparison.Ordinal);
            Assert.Equal(7, (await tenant.WaitAsync(npid).WaitAsync(Bound)).ExitCode);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npid);
        }
    }

    [Fact]
    public async Task Attach_to_a_process_without_a_terminal_shows_its_live_output_read_only_until_it_ends()
    {
        var tenant = await Node.SdkAsync();
        var marker = Path.Combine(Node.RunDir, "attach-go-" + Guid.NewGuid().ToString("N"));
        var npid = await tenant.SpawnAsync(new ProcessSpec
        {
            Path = "/bin/sh",
            Args = ["-c", $"echo before; while [ ! -e {marker} ]; do sleep 0.1; done; echo after-out; echo after-err >&2; exit 3"],
        });
        try
        {
            await Eventually.Until(async () => (await tenant.ReadLogsAsync(npid)).Data.Length > 0, Bound, "the first line captured");
            await using var terminal = await AttachAsync(npid);
            await terminal.WaitForAsync("input is ignored");

            // Typed text goes nowhere (the process's stdin is not the terminal) and does not end the attach.
            await terminal.TypeAsync("typed");
            await terminal.SendKeysAsync("Enter");

            // Output written before the attach is the logs' business; what comes after is shown.
            await File.WriteAllTextAsync(marker, string.Empty);
            var screen = await terminal.WaitForAsync("exit-status=3");
            Assert.Contains("after-out", screen, StringComparison.Ordinal);
            Assert.Contains("after-err", screen, StringComparison.Ordinal);
            Assert.DoesNotContain("before", screen, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(marker);
            await Cleanup.KillAsync(tenant, npid);
        }
    }

    [Fact]
    public async Task Attach_websocket_refuses_an_unknown_npid_a_process_without_terminal_and_a_viewer_key()
    {
        var tenant = await Node.SdkAsync();
        var plain = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sleep", Args = ["300"] });
        var shell = await SpawnShellAsync(tenant);
        try
        {
            Assert.Equal(HttpStatusCode.NotFound, await RefusedAsync(Node.AdminKey, "0000000000000", readOnly: false));
            Assert.Equal(HttpStatusCode.BadRequest, await RefusedAsync(Node.AdminKey, plain, readOnly: false));

            var viewer = await Node.CreateKeyAsync("default", "attach-viewer-" + Guid.NewGuid().ToString("N")[..8], Role.Viewer);
            Assert.Equal(HttpStatusCode.Forbidden, await RefusedAsync(viewer, shell, readOnly: false));

            // Read-only, a viewer may watch; what it sends is not typed.
            using var watching = await ConnectAsync(viewer, shell, readOnly: true);
            await watching.SendAsync("echo viewer-typed\n"u8.ToArray(), WebSocketMessageType.Binary, true, CancellationToken.None);

            // A member's attach: typed input comes back as terminal output; a bad control message closes with 1007.
            using var member = await ConnectAsync(Node.AdminKey, shell, readOnly: false);
            await member.SendAsync("echo member-$((6*7))\n"u8.ToArray(), WebSocketMessageType.Binary, true, CancellationToken.None);
            var output = await ReadUntilAsync(member, "member-42");
            Assert.DoesNotContain("viewer-typed", output, StringComparison.Ordinal);
            var seen = await ReadUntilAsync(watching, "member-42");
            Assert.Contains("member-42", seen, StringComparison.Ordinal);

            await member.SendAsync("""{"resize":{"rows":0,"cols":80}}"""u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
            await DrainUntilClosedAsync(member);
            Assert.Equal(WebSocketCloseStatus.InvalidPayloadData, member.CloseStatus);
            Assert.Contains("0x80", member.CloseStatusDescription, StringComparison.Ordinal);

            // The process ends: the watcher's socket closes with how it ended.
            await tenant.KillAsync(shell, Signals.SigKill);
            await DrainUntilClosedAsync(watching);
            Assert.Equal(WebSocketCloseStatus.NormalClosure, watching.CloseStatus);
            Assert.Equal("killed by SIGKILL", watching.CloseStatusDescription);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, plain, shell);
        }
    }

    [Fact]
    public async Task Read_only_attach_to_a_tty_process_shows_its_output_and_types_nothing()
    {
        var tenant = await Node.SdkAsync();
        var npid = await SpawnShellAsync(tenant);
        try
        {
            await using var watcher = await AttachAsync(npid, "--read-only");
            await watcher.WaitForAsync("read-only");

            // What the watcher types goes nowhere; what the process shows reaches it.
            await watcher.TypeAsync("echo from-watcher");
            await watcher.SendKeysAsync("Enter");
            await tenant.TypeAsync(npid, "echo typed-$((5*5))\n"u8.ToArray());
            var screen = await watcher.WaitForAsync("typed-25");
            Assert.DoesNotContain("from-watcher", screen, StringComparison.Ordinal);

            await watcher.SendKeysAsync("C-c");
            await watcher.WaitForAsync("exit-status=0");
            Assert.Equal(ProcessState.Running, (await tenant.GetAsync(npid)).State);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npid);
        }
    }

    [Fact]
    public async Task The_sdk_types_and_resizes_a_tty_process_and_refuses_what_it_must()
    {
        var tenant = await Node.SdkAsync();
        var shell = await SpawnShellAsync(tenant);
        var plain = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sleep", Args = ["300"] });
        try
        {
            await tenant.ResizeTerminalAsync(shell, 12, 34);
            await tenant.TypeAsync(shell, "stty size; exit 4\n"u8.ToArray());
            Assert.Equal(4, (await tenant.WaitAsync(shell).WaitAsync(Bound)).ExitCode);
            var shown = Encoding.UTF8.GetString((await tenant.ReadLogsAsync(shell)).Data);
            Assert.Contains("12 34", shown, StringComparison.Ordinal);

            Assert.Equal(ErrorCodes.NotRunning, (await Assert.ThrowsAsync<NefeleException>(() => tenant.TypeAsync(shell, "x"u8.ToArray()))).Code);
            Assert.Equal(ErrorCodes.BadRequest, (await Assert.ThrowsAsync<NefeleException>(() => tenant.TypeAsync(plain, "x"u8.ToArray()))).Code);
            Assert.Equal(ErrorCodes.BadRequest, (await Assert.ThrowsAsync<NefeleException>(() => tenant.ResizeTerminalAsync(plain, 0, 80))).Code);
            Assert.Equal(ErrorCodes.NpidNotFound, (await Assert.ThrowsAsync<NefeleException>(() => tenant.TypeAsync("0000000000000", "x"u8.ToArray()))).Code);

            var viewerKey = await Node.CreateKeyAsync("default", "sdk-viewer-" + Guid.NewGuid().ToString("N")[..8], Role.Viewer);
            await using var viewer = await Node.ConnectAsync(viewerKey);
            var other = await SpawnShellAsync(tenant);
            try
            {
                // Through the SDK a process call the key's role does not allow is answered as every
                // such call is (CallAuthorizationFilter): as if the NPID did not exist. REST says 403.
                Assert.Equal(ErrorCodes.NpidNotFound, (await Assert.ThrowsAsync<NefeleException>(() => viewer.Tenant("default").TypeAsync(other, "x"u8.ToArray()))).Code);
                Assert.Equal(ErrorCodes.NpidNotFound, (await Assert.ThrowsAsync<NefeleException>(() => viewer.Tenant("default").ResizeTerminalAsync(other, 10, 10))).Code);
                Assert.Equal(ProcessState.Running, (await tenant.GetAsync(other)).State);
            }
            finally
            {
                await Cleanup.KillAsync(tenant, other);
            }
        }
        finally
        {
            await Cleanup.KillAsync(tenant, shell, plain);
        }
    }

    private static async Task<string> SpawnShellAsync(NefeleTenant tenant) =>
        await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sh", Tty = true, Env = new Dictionary<string, string> { ["PS1"] = "$ " } });

    private Task<TmuxTerminal> AttachAsync(string npid, params string[] flags) =>
        TmuxTerminal.StartAsync(
            new Dictionary<string, string>
            {
                ["NEFELE_API"] = Node.ApiUrl,
                [CredentialSources.TokenVariable] = Node.AdminKey,
                [CredentialSources.AdminKeyFileVariable] = "/nonexistent",
                ["XDG_CONFIG_HOME"] = "/nonexistent",
            },
            [Path.Combine(RepoPaths.Root, "bin", "nef"), "attach", .. flags, npid]);

    /// <summary>
    /// Waits until nef is attached: a newline typed until the shell's prompt comes back through it
    /// (the attach shows output from its start on, so the first prompt is not on the screen).
    /// </summary>
    private static async Task AttachedAsync(TmuxTerminal terminal, NefeleTenant tenant, string npid)
    {
        await Eventually.Until(
            async () =>
            {
                await terminal.SendKeysAsync("Enter");
                await Task.Delay(TimeSpan.FromMilliseconds(200));
                return (await terminal.ScreenAsync()).Contains('$', StringComparison.Ordinal);
            },
            Bound,
            $"a prompt of {npid} through nef attach");
        Assert.Equal(ProcessState.Running, (await tenant.GetAsync(npid)).State);
    }

    private Uri AttachUri(string npid, bool readOnly) =>
        new($"ws://127.0.0.1:{Node.ApiPort}/v1/tenants/default/processes/{npid}/attach" + (readOnly ? "?readOnly=true" : string.Empty));

    private async Task<ClientWebSocket> ConnectAsync(string key, string npid, bool readOnly)
    {
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer " + key);
        using var timeout = new CancellationTokenSource(Bound);
        await socket.ConnectAsync(AttachUri(npid, readOnly), timeout.Token);
        return socket;
    }

    private async Task<HttpStatusCode> RefusedAsync(string key, string npid, bool readOnly)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader("Authorization", "Bearer " + key);
        using var timeout = new CancellationTokenSource(Bound);
        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(AttachUri(npid, readOnly), timeout.Token));
        return socket.HttpStatusCode;
    }

    private static async Task<string> ReadUntilAsync(WebSocket socket, string text)
    {
        var seen = new StringBuilder();
        var buffer = new byte[16 * 1024];
        using var timeout = new CancellationTokenSource(Bound);
        while (!seen.ToString().Contains(text, StringComparison.Ordinal))
        {
            var received = await socket.ReceiveAsync(buffer, timeout.Token);
            Assert.NotEqual(WebSocketMessageType.Close, received.MessageType);
            Assert.Equal(WebSocketMessageType.Binary, received.MessageType);
            seen.Append(Encoding.UTF8.GetString(buffer, 0, received.Count));
        }

        return seen.ToString();
    }

    private static async Task DrainUntilClosedAsync(WebSocket socket)
    {
        var buffer = new byte[16 * 1024];
        using var timeout = new CancellationTokenSource(Bound);
        while ((await socket.ReceiveAsync(buffer, timeout.Token)).MessageType != WebSocketMessageType.Close)
        {
        }
    }

    private static int Occurrences(string text, string part)
    {
        var count = 0;
        for (var at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + part.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
