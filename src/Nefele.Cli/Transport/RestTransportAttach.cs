using System.Net;
using System.Net.WebSockets;
using Nefele.Api;
using Nefele.Cli.Json;
using Nefele.Client;

namespace Nefele.Cli.Transport;

internal sealed partial class RestTransport : IAttachTransport
{
    public Uri CurrentEndpoint => CurrentApi;

    public async Task<ProcessInfo> GetProcessAsync(string npid, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Get, ProcessPath(npid), Repeatable.Yes, ct).ConfigureAwait(false);
        return ReadWhole(response, HotPathJson.ReadProcessInfo, "response", ct);
    }

    public async Task<WebSocket> AttachAsync(string npid, bool readOnly, CancellationToken ct)
    {
        var api = CurrentApi;
        var http = new Uri(api, ProcessPath(npid) + "/attach" + (readOnly ? "?" + TerminalAttach.ReadOnlyQuery + "=true" : string.Empty));
        var uri = new UriBuilder(http) { Scheme = http.Scheme == Uri.UriSchemeHttps ? "wss" : "ws" }.Uri;
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        // Pings, and an answer required within the streams' silence limit: a node that died without
        // closing the connection ends the attach instead of leaving it silent for ever.
        socket.Options.KeepAliveInterval = EventStreams.DefaultKeepAlive;
        socket.Options.KeepAliveTimeout = EventStreams.SilenceLimit;
        if (token is not null)
        {
            socket.Options.SetRequestHeader("Authorization", "Bearer " + token);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(connectTimeout);
        try
        {
            await socket.ConnectAsync(uri, timeout.Token).ConfigureAwait(false);
            return socket;
        }
        catch (WebSocketException e)
        {
            var status = socket.HttpStatusCode;
            socket.Dispose();
            throw new NefeleApiException(status switch
            {
                HttpStatusCode.Forbidden => $"attach: this key may not type into {npid}'s terminal (a member key of the tenant is needed); --read-only shows its output",
                HttpStatusCode.Conflict => $"attach: {npid} is not running",
                HttpStatusCode.BadRequest => $"attach: {npid} has no terminal; --read-only shows its output",
                HttpStatusCode.NotFound => $"attach: no process {npid}",
                0 => $"attach: no WebSocket from the Nefele API at {api}: {e.Message}",
                _ => $"attach: the Nefele API at {api} answered HTTP {(int)status}",
            }, e);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            socket.Dispose();
            throw new NefeleApiException($"attach: no WebSocket from the Nefele API at {api} within {connectTimeout.TotalSeconds:0.###} s");
        }
    }
}
