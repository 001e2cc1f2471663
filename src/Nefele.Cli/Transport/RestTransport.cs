using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Nefele.Cli.Json;
using Nefele.Placement;
using Nefele.Processes;

namespace Nefele.Cli.Transport;

/// <summary>Talks to a node's REST API (/v1/tenants/{tenant}/…), from outside any Nefele process.</summary>
internal sealed partial class RestTransport : INefeleTransport
{
    /// <summary>How long nef waits for a TCP connection before saying the API cannot be reached.</summary>
    public static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(5);

    private static readonly MediaTypeWithQualityHeaderValue EventStream = new("text/event-stream");

    private readonly HttpClient http;
    private readonly Uri api;
    private readonly string tenantPath;
    private readonly TimeSpan connectTimeout;

    public RestTransport(Uri api, string tenant, TimeSpan connectTimeout, string? token = null)
    {
        Tenant = tenant;
        this.api = api;
        this.connectTimeout = connectTimeout;
        tenantPath = "v1/tenants/" + Uri.EscapeDataString(tenant) + "/";
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = connectTimeout,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
        };

        // No overall timeout: monitor and logs -f legitimately wait as long as the process runs.
        http = new HttpClient(handler) { BaseAddress = WithTrailingSlash(api), Timeout = Timeout.InfiniteTimeSpan };
        if (token is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
    }

    public async Task<SpawnOutcome> SpawnAsync(SpawnBatch batch, CancellationToken ct)
    {
        var body = new SpawnRequest
        {
            RequestId = batch.RequestId,
            Count = batch.Count,
            AllowPartial = batch.AllowPartial,
            Spread = batch.Spread,
            Tasks = batch.Tasks,
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, tenantPath + "spawn")
        {
            Content = Json(body, NefJsonContext.Default.SpawnRequest),
        };
        using var response = await SendAsync(request, ct).ConfigureAwait(false);
        var reply = await ReadJsonAsync(response, NefJsonContext.Default.SpawnResult, ct).ConfigureAwait(false);
        var rejected = reply.Rejected ?? [];
        return new SpawnOutcome(reply.Npids, rejected.Count, rejected.Count > 0 ? rejected[0] : null);
    }

    public async Task<IReadOnlyList<ProcessInfo>> PsAsync(bool all, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, tenantPath + (all ? "processes?all=true" : "processes"));
        using var response = await SendAsync(request, ct).ConfigureAwait(false);
        var list = await ReadJsonAsync(response, NefJsonContext.Default.ProcessListDto, ct).ConfigureAwait(false);
        return list.Processes;
    }

    public async Task<ProcessEnd> MonitorAsync(string npid, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, ProcessPath(npid) + "/events?after=0");
        request.Headers.Accept.Add(EventStream);
        using var response = await SendAsync(request, ct).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        await foreach (var sse in SseReader.ReadAsync(stream, ct).ConfigureAwait(false))
        {
            if (sse.Type is not ("state" or "message"))
            {
                continue;
            }

            var e = Deserialize(sse.Data, NefJsonContext.Default.ProcessEvent, "process event");
            if (e.State.IsTerminal())
            {
                return e.End ?? new ProcessEnd { State = e.State };
            }
        }

        throw new NefeleApiException($"the event stream of {npid} ended before the process did");
    }

    public async Task KillAsync(IReadOnlyList<string> npids, int signal, CancellationToken ct)
    {
        // The REST API signals one process per call; signal them all, then report what failed.
        var failures = new List<NefeleApiException>();
        foreach (var npid in npids)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, ProcessPath(npid) + "/signal")
            {
                Content = Json(new SignalRequestDto(signal), NefJsonContext.Default.SignalRequestDto),
            };
            try
            {
                using var response = await SendAsync(request, ct).ConfigureAwait(false);
            }
            catch (NefeleApiException e) when (npids.Count > 1)
            {
                failures.Add(e);
            }
        }

        if (failures.Count > 0)
        {
            var more = failures.Count > 1 ? $" (and {failures.Count - 1} more failed)" : string.Empty;
            throw new NefeleApiException(failures[0].Message + more, failures[0]) { Code = failures[0].Code };
        }
    }

    public async Task LogsAsync(string npid, bool follow, Stream output, CancellationToken ct)
    {
        if (!follow)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, ProcessPath(npid) + "/logs");
            using var response = await SendAsync(request, ct).ConfigureAwait(false);
            await response.Content.CopyToAsync(output, ct).ConfigureAwait(false);
            await output.FlushAsync(ct).ConfigureAwait(false);
            return;
        }

        using var followRequest = new HttpRequestMessage(HttpMethod.Get, ProcessPath(npid) + "/logs?follow=true");
        followRequest.Headers.Accept.Add(EventStream);
        using var followResponse = await SendAsync(followRequest, ct).ConfigureAwait(false);
        var stream = await followResponse.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        await foreach (var sse in SseReader.ReadAsync(stream, ct).ConfigureAwait(false))
        {
            switch (sse.Type)
            {
                case "output":
                    await output.WriteAsync(Encoding.UTF8.GetBytes(sse.Data), ct).ConfigureAwait(false);
                    await output.FlushAsync(ct).ConfigureAwait(false);
                    break;
                case "end":
                    return;
                default:
                    break;
            }
        }

        throw new NefeleApiException($"the log stream of {npid} ended before the process did");
    }

    public ValueTask DisposeAsync()
    {
        http.Dispose();
        return ValueTask.CompletedTask;
    }

    private string ProcessPath(string npid) => tenantPath + "processes/" + Uri.EscapeDataString(npid);

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
    {
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(e.Message, e);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            // SocketsHttpHandler reports its ConnectTimeout as a cancellation.
            throw Unreachable($"no connection within {connectTimeout.TotalSeconds:0.###} s", e);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            throw await ProblemAsync(response, ct).ConfigureAwait(false);
        }
    }

    private NefeleApiException Unreachable(string why, Exception inner) =>
        new($"cannot reach the Nefele API at {api.OriginalString}: {why}", inner);

    /// <summary>Turns an error response into the sentence to print: problem details' detail, else its title, else the status.</summary>
    internal static async Task<NefeleApiException> ProblemAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var status = $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}".TrimEnd();
        string text;
        try
        {
            text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        }
        catch (HttpRequestException)
        {
            return new NefeleApiException(status);
        }

        ProblemDetailsDto? problem = null;
        if (text.TrimStart().StartsWith('{'))
        {
            try
            {
                problem = JsonSerializer.Deserialize(text, NefJsonContext.Default.ProblemDetailsDto);
            }
            catch (JsonException)
            {
                problem = null;
            }
        }

        var message = !string.IsNullOrWhiteSpace(problem?.Detail) ? problem.Detail
            : !string.IsNullOrWhiteSpace(problem?.Title) ? problem.Title
            : status;
        return new NefeleApiException(message) { Code = problem?.Code };
    }

    private static async Task<T> ReadJsonAsync<T>(HttpResponseMessage response, JsonTypeInfo<T> type, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        return Deserialize(text, type, "response");
    }

    private static T Deserialize<T>(string text, JsonTypeInfo<T> type, string what)
    {
        try
        {
            return JsonSerializer.Deserialize(text, type)
                ?? throw new NefeleApiException($"the Nefele API sent an empty {what}");
        }
        catch (JsonException e)
        {
            throw new NefeleApiException($"the Nefele API sent a malformed {what}: {e.Message}", e);
        }
    }

    private static ByteArrayContent Json<T>(T value, JsonTypeInfo<T> type)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(value, type));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    private static Uri WithTrailingSlash(Uri uri) =>
        uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");
}
