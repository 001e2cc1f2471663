using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.AspNetCore.Authorization;
using Nefele.Api;
using Nefele.Client;

namespace Nefele.Silo.Api;

/// <summary>
/// attach: a WebSocket onto a process's terminal (spawn --tty), or read-only onto any process's
/// output. Output is the process's log followed from its end at the time of the attach (a tty
/// process's terminal output is its log), so it reaches every node the same way logs -f does; input
/// and resizes are grain calls, one per message, to the process's node.
/// </summary>
internal static class AttachEndpoint
{
    /// <summary>The most bytes one input call carries (a larger binary message is typed in several).</summary>
    private const int InputChunkBytes = 16 * 1024;

    /// <summary>How long the server waits for the client's close frame after sending its own.</summary>
    private static readonly TimeSpan CloseHandshakeWait = TimeSpan.FromSeconds(5);

    public static void MapAttachEndpoint(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/tenants/{tenant}/processes/{npid}/attach", AttachAsync)
            .WithTags("processes")
            .RequireAuthorization(Auth.Policies.TenantViewer)
            .Produces(StatusCodes.Status101SwitchingProtocols)
            .WithDescription(
                "A WebSocket (send GET with Upgrade: websocket and the API key's Authorization header). Binary messages from the server are the "
                + "process's terminal output from the moment of the attach on. From the client: binary messages are typed into the terminal "
                + "(the process reads them on its stdin), and text messages are JSON control messages: {\"resize\":{\"rows\":R,\"cols\":C}} sets "
                + "the window size (the foreground process group gets SIGWINCH; send one on attach so a full-screen program redraws). When "
                + "the process ends the server closes with status 1000 and a reason that says how (\"exited 0\", \"killed by SIGKILL\"). The "
                + "client detaches by closing; the process keeps running and can be attached again. Interactive attach needs a member key "
                + "and a process spawned with --tty that is Running (bad_request: no terminal; not_running). With readOnly=true any process's "
                + "output (stdout and stderr) is streamed, input and resizes are ignored, and a viewer key suffices. A bad control message "
                + "closes with 1007 and the reason; a refused input (the process ended, its terminal stopped reading) with 1008.")
            .Operation("attachProcess", "WebSocket onto a process's terminal: output, input and resize (attach); readOnly=true for output only", 400, 403, 404, 409);
    }

    private static async Task AttachAsync(string tenant, string npid, bool? readOnly, HttpContext http, IGrainFactory grains, IAuthorizationService authorization, ILoggerFactory loggers)
    {
        if (!http.WebSockets.IsWebSocketRequest)
        {
            throw NefeleException.Bad("attach is a WebSocket: send the GET with 'Connection: Upgrade' and 'Upgrade: websocket' (nef attach does)");
        }

        var client = new NefeleTenant(grains, tenant);
        var info = await client.GetAsync(npid);
        var interactive = readOnly != true;
        if (interactive)
        {
            var member = await authorization.AuthorizeAsync(http.User, http, Auth.Policies.TenantMember);
            if (!member.Succeeded)
            {
                throw new NefeleException(ErrorCodes.Forbidden, $"typing into a terminal needs a member key of tenant {tenant}; this key may attach read-only ({TerminalAttach.ReadOnlyQuery}=true)");
            }

            if (!info.Tty)
            {
                throw NefeleException.Bad($"process {npid} has no terminal (it was spawned without --tty): attach read-only ({TerminalAttach.ReadOnlyQuery}=true) to follow its output");
            }

            if (info.State != ProcessState.Running)
            {
                throw new NefeleException(ErrorCodes.NotRunning, $"process {npid} is {info.State}, not Running");
            }
        }

        using var socket = await http.WebSockets.AcceptWebSocketAsync();
        using var sending = new SemaphoreSlim(1, 1);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        var output = PumpOutputAsync(client, npid, socket, sending, loggers.CreateLogger(typeof(AttachEndpoint).FullName!), stop.Token);
        var input = PumpInputAsync(client, npid, interactive, socket, sending, stop.Token);
        if (await Task.WhenAny(output, input) == input)
        {
            // The client closed (detached) or broke a rule: the process keeps running.
            await stop.CancelAsync();
            await Ignore(output);
            await Ignore(input);
            return;
        }

        // The process ended and the close frame is sent: wait a while for the client's.
        await Ignore(input.WaitAsync(CloseHandshakeWait, http.RequestAborted));
        await stop.CancelAsync();
        await Ignore(input);
    }

    /// <summary>Sends the process's output from its end now on, then closes with how it ended.</summary>
    private static async Task PumpOutputAsync(NefeleTenant client, string npid, WebSocket socket, SemaphoreSlim sending, ILogger logger, CancellationToken ct)
    {
        try
        {
            // Where the output ends now (a read past the end answers the end): older output is the logs' business.
            var now = await client.ReadLogsAsync(npid, long.MaxValue, 1, TimeSpan.Zero, LogStream.All, ct);
            await foreach (var chunk in client.LogChunksAsync(npid, follow: true, now.NextOffset, LogStream.All, ct))
            {
                if (chunk.Data.Length > 0)
                {
                    await SendAsync(socket, sending, chunk.Data, ct);
                }
            }

            var end = await client.WaitAsync(npid, ct);
            await CloseAsync(socket, sending, WebSocketCloseStatus.NormalClosure, TerminalAttach.CloseReason(end), ct);
        }
        catch (NefeleException e) when (!ct.IsCancellationRequested)
        {
            await CloseAsync(socket, sending, WebSocketCloseStatus.InternalServerError, Reason($"{e.Code}: {e.Message}"), ct);
        }
        catch (Exception e) when (e is not (OperationCanceledException or WebSocketException) && !ct.IsCancellationRequested)
        {
            // Not a refusal but a fault (a grain call that failed past its retries): the client is told
            // why its output stopped, and the fault goes to the log.
            logger.LogWarning(e, "attach of {Npid}: following its output failed", npid);
            await CloseAsync(socket, sending, WebSocketCloseStatus.InternalServerError, Reason($"{ErrorCodes.InternalError}: following the output failed ({e.GetType().Name})"), ct);
        }
    }

    /// <summary>Types binary messages into the terminal and applies control messages, until the client closes.</summary>
    private static async Task PumpInputAsync(NefeleTenant client, string npid, bool interactive, WebSocket socket, SemaphoreSlim sending, CancellationToken ct)
    {
        var buffer = new byte[InputChunkBytes];
        var control = new MemoryStream();
        while (true)
        {
            var received = await socket.ReceiveAsync(buffer, ct);
            switch (received.MessageType)
            {
                case WebSocketMessageType.Close:
                    if (socket.State == WebSocketState.CloseReceived)
                    {
                        await CloseAsync(socket, sending, WebSocketCloseStatus.NormalClosure, "detached", ct);
                    }

                    return;

                case WebSocketMessageType.Binary:
                    if (interactive && received.Count > 0 && !await TryAsync(socket, sending, () => client.TypeAsync(npid, buffer.AsMemory(0, received.Count), ct), ct))
                    {
                        return;
                    }

                    break;

                case WebSocketMessageType.Text:
                    control.Write(buffer, 0, received.Count);
                    if (control.Length > TerminalAttach.MaxControlMessageBytes)
                    {
                        await CloseAsync(socket, sending, WebSocketCloseStatus.MessageTooBig, $"a control message is at most {TerminalAttach.MaxControlMessageBytes} bytes", ct);
                        return;
                    }

                    if (!received.EndOfMessage)
                    {
                        break;
                    }

                    var message = control.ToArray();
                    control.SetLength(0);
                    if (!TryParseResize(message, out var rows, out var columns, out var problem))
                    {
                        await CloseAsync(socket, sending, WebSocketCloseStatus.InvalidPayloadData, Reason(problem), ct);
                        return;
                    }

                    if (interactive && !await TryAsync(socket, sending, () => client.ResizeTerminalAsync(npid, rows, columns, ct), ct))
                    {
                        return;
                    }

                    break;
            }
        }
    }

    /// <summary>Runs an input call; a refusal closes the socket with its reason (false).</summary>
    private static async Task<bool> TryAsync(WebSocket socket, SemaphoreSlim sending, Func<Task> call, CancellationToken ct)
    {
        try
        {
            await call();
            return true;
        }
        catch (NefeleException e) when (e.Code == ErrorCodes.NotRunning)
        {
            // It ended while this was typed: the output side closes with how it ended.
            return true;
        }
        catch (NefeleException e)
        {
            await CloseAsync(socket, sending, WebSocketCloseStatus.PolicyViolation, Reason($"{e.Code}: {e.Message}"), ct);
            return false;
        }
    }

    /// <summary>Reads <c>{"resize":{"rows":R,"cols":C}}</c>; else false and what is wrong with it.</summary>
    internal static bool TryParseResize(byte[] message, out int rows, out int columns, out string problem)
    {
        rows = columns = 0;
        problem = string.Empty;
        try
        {
            using var json = JsonDocument.Parse(message);
            if (json.RootElement.ValueKind == JsonValueKind.Object
                && json.RootElement.TryGetProperty("resize", out var resize) && resize.ValueKind == JsonValueKind.Object
                && resize.TryGetProperty("rows", out var r) && r.ValueKind == JsonValueKind.Number && r.TryGetInt32(out rows)
                && resize.TryGetProperty("cols", out var c) && c.ValueKind == JsonValueKind.Number && c.TryGetInt32(out columns))
            {
                if (rows is >= 1 and <= Validation.Limits.MaxTerminalSize && columns is >= 1 and <= Validation.Limits.MaxTerminalSize)
                {
                    return true;
                }

                problem = $"window size {rows}x{columns} is not one (1..{Validation.Limits.MaxTerminalSize} each)";
                return false;
            }
        }
        catch (JsonException)
        {
        }

        problem = """a control message is {"resize":{"rows":R,"cols":C}}""";
        return false;
    }

    private static async Task SendAsync(WebSocket socket, SemaphoreSlim sending, byte[] data, CancellationToken ct)
    {
        await sending.WaitAsync(ct);
        try
        {
            await socket.SendAsync(data, WebSocketMessageType.Binary, endOfMessage: true, ct);
        }
        finally
        {
            sending.Release();
        }
    }

    private static async Task CloseAsync(WebSocket socket, SemaphoreSlim sending, WebSocketCloseStatus status, string reason, CancellationToken ct)
    {
        await sending.WaitAsync(ct);
        try
        {
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await socket.CloseOutputAsync(status, reason, ct);
            }
        }
        finally
        {
            sending.Release();
        }
    }

    private static string Reason(string text) => TerminalAttach.FitCloseReason(text);

    /// <summary>Awaits a pump that was stopped: its cancellation or a broken connection is the expected end.</summary>
    private static async Task Ignore(Task task)
    {
        try
        {
            await task;
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or TimeoutException or IOException)
        {
        }
    }
}
