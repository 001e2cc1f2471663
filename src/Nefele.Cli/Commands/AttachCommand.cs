using System.Net.WebSockets;
using System.Runtime.InteropServices;
using System.Text;
using Nefele.Api;
using Nefele.Cli.Output;
using Nefele.Cli.Parsing;
using Nefele.Cli.Terminal;
using Nefele.Cli.Transport;
using Nefele.Client;

namespace Nefele.Cli.Commands;

/// <summary>
/// attach [--read-only] [--detach-keys KEYS] NPID: the local terminal onto a process's terminal over
/// the REST API's attach WebSocket. Standard input in raw mode is typed into the process, its output
/// is printed, the window size follows the local one (at start and on SIGWINCH). The detach keys
/// leave it running ("detached", exit 0); its end ends nef with its exit status. A process without
/// a terminal (or --read-only) is shown read-only: input is not sent.
/// </summary>
internal sealed class AttachCommand(string npid, bool readOnly, DetachKeys detachKeys) : INefCommand
{
    private const int StdIn = 0, StdOut = 1, CtrlC = 3;

    /// <summary>How long nef waits for the server to answer its close frame after a detach.</summary>
    private static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(2);

    private readonly SemaphoreSlim sending = new(1, 1);
    private readonly TaskCompletionSource<int?> leave = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WebSocket? socket;
    private byte lastOutput = (byte)'\n';

    public string Npid => npid;

    public bool ReadOnly => readOnly;

    public DetachKeys DetachKeys => detachKeys;

    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        var transport = context.Transport as IAttachTransport
            ?? throw new UsageException("attach: not available inside a Nefele process (hostd's socket has no terminals); run it from outside with an API key");
        var info = await transport.GetProcessAsync(npid, ct).ConfigureAwait(false);
        if (info.State.IsTerminal())
        {
            throw new NefeleApiException($"attach: {npid} has ended ({info.End?.Describe() ?? info.State.ToString()})");
        }

        var outputOnly = readOnly || !info.Tty;
        var stdinTerminal = RawTerminal.IsTerminal(StdIn);
        if (!info.Tty && !readOnly)
        {
            await context.Err.WriteLineAsync($"nef: {npid} has no terminal (not spawned with --tty): output only, input is ignored").ConfigureAwait(false);
        }

        if (outputOnly && stdinTerminal)
        {
            await context.Err.WriteLineAsync($"nef: read-only; detach with {Describe(detachKeys)} or ctrl-c").ConfigureAwait(false);
        }

        await context.Err.FlushAsync(ct).ConfigureAwait(false);
        await context.Out.FlushAsync(ct).ConfigureAwait(false);
        using var ws = await transport.AttachAsync(npid, outputOnly, ct).ConfigureAwait(false);
        socket = ws;

        // Signals end the attach cleanly (the terminal's settings restored); SIGWINCH resizes.
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnStop);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnStop);
        using var hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnStop);
        using var winch = outputOnly || OperatingSystem.IsWindows() ? null : PosixSignalRegistration.Create(PosixSignal.SIGWINCH, signal => { _ = SendSizeAsync(); });
        using var cancel = ct.Register(() => leave.TrySetResult(130));

        // Raw mode only on a terminal, and only once connected: a refusal above leaves it untouched.
        using var raw = stdinTerminal ? EnterRawMode(outputOnly) : null;
        if (!outputOnly)
        {
            await SendSizeAsync().ConfigureAwait(false);
        }

        if (!outputOnly || stdinTerminal)
        {
            new Thread(() => ReadInput(outputOnly)) { IsBackground = true, Name = "nef attach input" }.Start();
        }

        var receiving = ReceiveAsync(ws);
        if (await Task.WhenAny(receiving, leave.Task).ConfigureAwait(false) == receiving)
        {
            try
            {
                await receiving.ConfigureAwait(false);
            }
            catch (WebSocketException e)
            {
                raw?.Dispose();
                throw new NefeleApiException($"attach: connection lost with the Nefele API at {transport.CurrentEndpoint}: {e.Message}; {npid} may still be running (attach again)", e);
            }

            raw?.Dispose();
            return await EndedAsync(context, ws).ConfigureAwait(false);
        }

        // Detached (keys, a signal): the process keeps running.
        var status = await leave.Task.ConfigureAwait(false);
        await CloseAsync(ws).ConfigureAwait(false);
        try
        {
            await receiving.WaitAsync(CloseWait, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or WebSocketException or OperationCanceledException)
        {
        }

        raw?.Dispose();
        if (status is null)
        {
            await context.Err.WriteAsync((lastOutput == '\n' ? string.Empty : "\n") + "detached\n").ConfigureAwait(false);
            await context.Err.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            return NefApp.Ok;
        }

        return status.Value;
    }

    private static RawTerminal EnterRawMode(bool keepOutputNewlines)
    {
        try
        {
            return RawTerminal.Enter(StdIn, keepOutputNewlines);
        }
        catch (IOException e)
        {
            throw new NefeleApiException("attach: " + e.Message + " (standard input is a terminal nef cannot put in raw mode)", e);
        }
    }

    private void OnStop(PosixSignalContext signal)
    {
        signal.Cancel = true;
        leave.TrySetResult(128 + signal.Signal switch
        {
            PosixSignal.SIGINT => 2,
            PosixSignal.SIGHUP => 1,
            _ => 15,
        });
    }

    /// <summary>The server closed: the process ended (its status), or the attach was refused on the way.</summary>
    private static async Task<int> EndedAsync(CommandContext context, WebSocket ws)
    {
        var reason = ws.CloseStatusDescription;
        if (ws.CloseStatus == WebSocketCloseStatus.NormalClosure && TerminalAttach.ExitStatus(reason) is { } exit)
        {
            return exit;
        }

        await context.Err.WriteLineAsync($"nef: attach ended: {(string.IsNullOrEmpty(reason) ? "the connection closed" : reason)}").ConfigureAwait(false);
        return NefApp.Failed;
    }

    private async Task ReceiveAsync(WebSocket ws)
    {
        var buffer = new byte[32 * 1024];
        var output = StandardStream.Output;
        while (true)
        {
            var received = await ws.ReceiveAsync(buffer, CancellationToken.None).ConfigureAwait(false);
            if (received.MessageType == WebSocketMessageType.Close)
            {
                return;
            }

            if (received.MessageType == WebSocketMessageType.Binary && received.Count > 0)
            {
                output.Write(buffer.AsSpan(0, received.Count));
                lastOutput = buffer[received.Count - 1];
            }
        }
    }

    /// <summary>Standard input on its own thread (read(2) blocks): typed bytes go out, the detach keys end the attach.</summary>
    private void ReadInput(bool outputOnly)
    {
        var buffer = new byte[16 * 1024];
        var forward = new List<byte>();
        while (!leave.Task.IsCompleted)
        {
            var n = RawTerminal.Read(StdIn, buffer);
            if (n <= 0)
            {
                // End of input (a pipe): the output goes on until the process ends or a signal.
                return;
            }

            forward.Clear();
            var typed = buffer.AsSpan(0, n);
            var detach = detachKeys.Feed(typed, forward);
            if (outputOnly)
            {
                if (detach || typed.Contains((byte)CtrlC))
                {
                    leave.TrySetResult(null);
                    return;
                }

                continue;
            }

            if (forward.Count > 0)
            {
                try
                {
                    SendAsync(CollectionsMarshal.AsSpan(forward).ToArray(), WebSocketMessageType.Binary).GetAwaiter().GetResult();
                }
                catch (Exception e) when (e is WebSocketException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }
            }

            if (detach)
            {
                leave.TrySetResult(null);
                return;
            }
        }
    }

    private async Task SendSizeAsync()
    {
        if ((RawTerminal.Size(StdOut) ?? RawTerminal.Size(StdIn)) is { } size)
        {
            try
            {
                await SendAsync(Encoding.UTF8.GetBytes(TerminalAttach.ResizeMessage(size.Rows, size.Columns)), WebSocketMessageType.Text).ConfigureAwait(false);
            }
            catch (Exception e) when (e is WebSocketException or ObjectDisposedException or InvalidOperationException)
            {
            }
        }
    }

    private async Task SendAsync(byte[] data, WebSocketMessageType type)
    {
        await sending.WaitAsync().ConfigureAwait(false);
        try
        {
            if (socket is { State: WebSocketState.Open } ws)
            {
                await ws.SendAsync(data, type, endOfMessage: true, CancellationToken.None).ConfigureAwait(false);
            }
        }
        finally
        {
            sending.Release();
        }
    }

    private async Task CloseAsync(WebSocket ws)
    {
        await sending.WaitAsync().ConfigureAwait(false);
        try
        {
            if (ws.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                using var timeout = new CancellationTokenSource(CloseWait);
                await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "detached", timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
        }
        finally
        {
            sending.Release();
        }
    }

    private static string Describe(DetachKeys keys) =>
        string.Join(' ', keys.Sequence.Select(b => b < 32 ? "ctrl-" + char.ToLowerInvariant((char)(b + '@')) : ((char)b).ToString()));
}
