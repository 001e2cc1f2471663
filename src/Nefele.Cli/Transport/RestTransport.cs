using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Nefele.Api;
using Nefele.Cli.Json;
using Nefele.Client;
using Nefele.Placement;
using Nefele.Processes;

namespace Nefele.Cli.Transport;

/// <summary>
/// Talks to the REST API (/v1/tenants/{tenant}/…) from outside any Nefele process. Given several
/// endpoints (nodes of one cluster), it uses the first that answers and stays with it; when one
/// dies it fails over to the next: a request that never reached it (connection refused, no
/// connection within the connect timeout) goes to the next at once, and so does one that may
/// have reached it if repeating it changes nothing (reads, and spawns, which always carry a
/// request id). A monitor or logs stream that breaks (reset, closed early, or silent for
/// <see cref="EventStreams.SilenceLimit"/>) resumes on the next endpoint after the last event
/// seen, for up to <see cref="ResumeWindow"/>.
/// </summary>
internal sealed partial class RestTransport : INefeleTransport
{
    /// <summary>How long nef waits for a TCP connection before trying the next endpoint.</summary>
    public static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How long a broken stream keeps trying to resume (across every endpoint) before nef gives up.</summary>
    public static readonly TimeSpan ResumeWindow = TimeSpan.FromSeconds(30);

    private static readonly MediaTypeWithQualityHeaderValue EventStream = new("text/event-stream");

    private readonly IReadOnlyList<Uri> apis;
    private readonly string? token;
    private readonly string tenantPath;
    private readonly TimeSpan connectTimeout;
    private readonly TimeProvider time;
    private HttpClient? http;
    private int current;

    public RestTransport(Uri api, string tenant, TimeSpan connectTimeout, string? token = null)
        : this([api], tenant, connectTimeout, token, TimeProvider.System)
    {
    }

    public RestTransport(IReadOnlyList<Uri> apis, string tenant, TimeSpan connectTimeout, string? token, TimeProvider time)
    {
        if (apis.Count == 0)
        {
            throw new ArgumentException("at least one API endpoint", nameof(apis));
        }

        Tenant = tenant;
        this.apis = [.. apis.Select(WithTrailingSlash)];
        this.connectTimeout = connectTimeout;
        this.time = time;
        tenantPath = "v1/tenants/" + Uri.EscapeDataString(tenant) + "/";
        this.token = token;
    }

    /// <summary>HttpClient, made on first use: for streams and https only (see <see cref="PlainHttpExchange"/>).</summary>
    private HttpClient Http => http ??= CreateHttpClient();

    /// <summary>The endpoint in use (the one that last answered).</summary>
    public Uri CurrentApi => apis[Volatile.Read(ref current)];

    public async Task<SpawnOutcome> SpawnAsync(SpawnBatch batch, CancellationToken ct)
    {
        var body = new SpawnRequest
        {
            // Always an id, so a spawn whose answer was lost with its node can be asked again of
            // another node and answer the same NPIDs instead of starting the processes twice.
            RequestId = batch.RequestId ?? Guid.NewGuid().ToString("N"),
            Count = batch.Count,
            AllowPartial = batch.AllowPartial,
            Spread = batch.Spread,
            Tasks = batch.Tasks,
        };
        var json = HotPathJson.WriteSpawnRequest(body);
        using var response = await SendAsync(HttpMethod.Post, tenantPath + "spawn", Repeatable.Yes, ct, () => Json(json)).ConfigureAwait(false);
        var reply = ReadWhole(response, HotPathJson.ReadSpawnResult, "response", ct);
        var rejected = reply.Rejected ?? [];
        return new SpawnOutcome(reply.Npids, rejected.Count, rejected.Count > 0 ? rejected[0] : null);
    }

    public async Task<IReadOnlyList<ProcessInfo>> PsAsync(bool all, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Get, tenantPath + (all ? "processes?all=true" : "processes"), Repeatable.Yes, ct).ConfigureAwait(false);
        return ReadWhole(response, HotPathJson.ReadProcessList, "response", ct);
    }

    public async Task<ProcessEnd> MonitorAsync(string npid, CancellationToken ct)
    {
        long after = 0;
        ProcessEnd? end = null;
        await FollowAsync(
            () => ProcessPath(npid) + "/events?after=" + after.ToString(CultureInfo.InvariantCulture),
            "the event stream of " + npid,
            Sync(sse =>
            {
                if (sse.Type is not ("state" or "message"))
                {
                    return true;
                }

                var e = Deserialize(sse.Data, NefJsonContext.Default.ProcessEvent, "process event");
                after = Math.Max(after, e.Seq);
                if (e.State.IsTerminal())
                {
                    end = e.End ?? new ProcessEnd { State = e.State };
                    return false;
                }

                return true;
            }),
            ct).ConfigureAwait(false);
        return end!;
    }

    public async Task KillAsync(IReadOnlyList<string> npids, int signal, CancellationToken ct)
    {
        // The REST API signals one process per call; signal them all, then report what failed.
        var failures = new List<NefeleApiException>();
        foreach (var npid in npids)
        {
            // Not repeated once it may have been sent: a signal delivered twice is not the same as once.
            var json = JsonSerializer.SerializeToUtf8Bytes(new SignalRequestDto(signal), NefJsonContext.Default.SignalRequestDto);
            try
            {
                using var response = await SendAsync(HttpMethod.Post, ProcessPath(npid) + "/signal", Repeatable.No, ct, () => Json(json)).ConfigureAwait(false);
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

    public async Task LogsAsync(string npid, bool follow, Stream output, CancellationToken ct, Nefele.Client.LogStream stream = Nefele.Client.LogStream.All)
    {
        var only = stream == Nefele.Client.LogStream.All ? "" : "stream=" + Nefele.Validation.LogFilters.Name(stream);
        if (!follow)
        {
            using var response = await SendAsync(HttpMethod.Get, ProcessPath(npid) + "/logs" + (only.Length > 0 ? "?" + only : ""), Repeatable.Yes, ct).ConfigureAwait(false);
            await response.Content.CopyToAsync(output, ct).ConfigureAwait(false);
            await output.FlushAsync(ct).ConfigureAwait(false);
            return;
        }

        // Each output event's id is the byte offset after it: a stream resumed elsewhere starts there.
        long offset = 0;
        var resumable = true;
        await FollowAsync(
            () => resumable
                ? ProcessPath(npid) + "/logs?follow=true&offset=" + offset.ToString(CultureInfo.InvariantCulture) + (only.Length > 0 ? "&" + only : "")
                : throw new NefeleApiException($"lost the log stream of {npid} and cannot resume it: the node sent no event ids"),
            "the log stream of " + npid,
            async sse =>
            {
                switch (sse.Type)
                {
                    case "output":
                        await output.WriteAsync(Encoding.UTF8.GetBytes(sse.Data), ct).ConfigureAwait(false);
                        await output.FlushAsync(ct).ConfigureAwait(false);
                        if (long.TryParse(sse.Id, NumberStyles.None, CultureInfo.InvariantCulture, out var next))
                        {
                            offset = next;
                        }
                        else
                        {
                            resumable = false;
                        }

                        return true;
                    case "end":
                        return false;
                    default:
                        return true;
                }
            },
            ct).ConfigureAwait(false);
    }

    public async Task QueryLogsAsync(Commands.LogsFilter filter, Func<LogRecordEvent, ValueTask> onRecord, CancellationToken ct)
    {
        var query = new StringBuilder(tenantPath).Append("logs?");
        foreach (var npid in filter.Npids)
        {
            query.Append("npid=").Append(Uri.EscapeDataString(npid)).Append('&');
        }

        void Add(string key, string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                query.Append(key).Append('=').Append(Uri.EscapeDataString(value)).Append('&');
            }
        }

        Add("name", filter.Name);
        Add("node", filter.Node);
        Add("stream", Nefele.Validation.LogFilters.Name(filter.Stream));
        Add("since", filter.Since);
        Add("until", filter.Until);
        Add("follow", filter.Follow ? "true" : null);
        var path = query.ToString().TrimEnd('&');

        // A merged stream has no event ids: a resumed one is asked again whole and each process's
        // records already given (below its next offset) are passed over, so none is given twice.
        var next = new Dictionary<string, long>(StringComparer.Ordinal);
        await FollowAsync(
            () => path,
            "the log stream",
            async sse =>
            {
                switch (sse.Type)
                {
                    case "record":
                        var record = Deserialize(sse.Data, NefJsonContext.Default.LogRecordEvent, "log record");
                        if (next.TryGetValue(record.Npid, out var from) && record.Offset < from)
                        {
                            return true;
                        }

                        next[record.Npid] = record.Offset + Math.Max(1, record.Base64 is { } b ? Convert.FromBase64String(b).Length : Encoding.UTF8.GetByteCount(record.Text));
                        await onRecord(record).ConfigureAwait(false);
                        return true;
                    case "end":
                        return false;
                    default:
                        return true;
                }
            },
            ct).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync()
    {
        http?.Dispose();
        return ValueTask.CompletedTask;
    }

    private string ProcessPath(string npid) => tenantPath + "processes/" + Uri.EscapeDataString(npid);

    /// <summary>Whether a request may be sent again to another endpoint after it may have reached one.</summary>
    private enum Repeatable
    {
        No,
        Yes,
    }

    /// <summary>
    /// Sends to the endpoint in use, failing over to the next ones in turn (see the class summary);
    /// an error status is thrown as the problem it describes. A request whose answer is read whole
    /// (every one but a stream's) is sent synchronously, on the calling thread: a command that makes
    /// one such request then runs start to end on its main thread, without the thread pool's hand-offs
    /// (about 2 ms of CPU and a wake-up per hop, measured on nef ps).
    /// </summary>
    private async Task<HttpResponseMessage> SendAsync(
        HttpMethod method, string path, Repeatable repeatable, CancellationToken ct, Func<HttpContent>? content = null, Action<HttpRequestMessage>? headers = null, bool streamed = false)
    {
        List<string>? failures = null;
        for (var tried = 0; tried < apis.Count; tried++)
        {
            var index = Volatile.Read(ref current);
            var api = apis[index];
            HttpResponseMessage response;
            using (var request = new HttpRequestMessage(method, new Uri(api, path)) { Content = content?.Invoke() })
            {
                headers?.Invoke(request);
                try
                {
                    response = streamed ? await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false)
                        : api.Scheme == Uri.UriSchemeHttp ? PlainHttpExchange.Send(request, token, connectTimeout, ct)
                        : Http.Send(request, HttpCompletionOption.ResponseHeadersRead, ct);
                }
                catch (HttpRequestException e) when (NeverArrived(e) || repeatable == Repeatable.Yes)
                {
                    (failures ??= []).Add(Describe(api, e.Message));
                    MoveOn(index);
                    continue;
                }
                catch (HttpRequestException e)
                {
                    throw new NefeleApiException($"connection lost with the Nefele API at {Describe(api, e.Message)}; the request may or may not have been carried out", e);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    // SocketsHttpHandler reports its ConnectTimeout as a cancellation.
                    (failures ??= []).Add(Describe(api, $"no connection within {connectTimeout.TotalSeconds:0.###} s"));
                    MoveOn(index);
                    continue;
                }
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

        throw new NefeleApiException(failures!.Count == 1
            ? "cannot reach the Nefele API at " + failures[0]
            : $"cannot reach the Nefele API at any of its {failures.Count} endpoints: {string.Join("; ", failures)}") { Unreachable = true };
    }

    /// <summary>
    /// Reads a server-sent event stream until <paramref name="onEvent"/> returns false. When the
    /// stream breaks it is asked again, from <paramref name="path"/> (which carries where to resume),
    /// of the next endpoint, and so on for up to <see cref="ResumeWindow"/>. An 'error' event is the
    /// node's refusal and ends it.
    /// </summary>
    private async Task FollowAsync(Func<string> path, string what, Func<SseEvent, ValueTask<bool>> onEvent, CancellationToken ct)
    {
        long? lostAt = null;
        var attempts = 0;
        while (true)
        {
            Exception loss;
            var index = Volatile.Read(ref current);
            long? openedAt = null;
            try
            {
                using var response = await SendAsync(HttpMethod.Get, path(), Repeatable.Yes, ct, headers: r => r.Headers.Accept.Add(EventStream), streamed: true).ConfigureAwait(false);
                openedAt = time.GetTimestamp();
                var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
                await foreach (var sse in SseReader.ReadAsync(stream, EventStreams.SilenceLimit, ct).ConfigureAwait(false))
                {
                    if (sse.Type == "error")
                    {
                        throw Problem(sse.Data);
                    }

                    // Progress: a later loss is a new one, with a window of its own.
                    lostAt = null;
                    attempts = 0;
                    if (!await onEvent(sse).ConfigureAwait(false))
                    {
                        return;
                    }
                }

                loss = new IOException($"{what} ended before the process did");
            }
            catch (NefeleApiException e) when (e.Unreachable && lostAt is not null)
            {
                // Every endpoint refused: the cluster may be between silos; wait a little and ask again.
                loss = e;
            }
            catch (Exception e) when (e is IOException or HttpRequestException or TimeoutException && !ct.IsCancellationRequested)
            {
                loss = e;
            }

            // A stream that stayed open a while before breaking (quiet, but alive) is a new loss too;
            // one that breaks as soon as it opens, again and again, runs out the window.
            var now = time.GetTimestamp();
            if (lostAt is null || (openedAt is { } opened && time.GetElapsedTime(opened, now) > EventStreams.SilenceLimit))
            {
                lostAt = now;
            }

            if (time.GetElapsedTime(lostAt.Value, now) > ResumeWindow)
            {
                throw new NefeleApiException($"connection lost: {what} could not be resumed within {ResumeWindow.TotalSeconds:0} s ({loss.Message})", loss);
            }

            MoveOn(index);
            if (++attempts >= apis.Count)
            {
                // Every endpoint has been tried once since the stream broke: pause before the next round.
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(100 * attempts, 1000)), time, ct).ConfigureAwait(false);
            }
        }
    }

    private static Func<SseEvent, ValueTask<bool>> Sync(Func<SseEvent, bool> onEvent) => e => ValueTask.FromResult(onEvent(e));

    /// <summary>A failure before the request was sent: refused, unknown host, TLS never set up.</summary>
    private static bool NeverArrived(HttpRequestException e) =>
        e.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError;

    /// <summary>Leaves a failed endpoint for the next one, unless another request already did.</summary>
    private void MoveOn(int failed) => Interlocked.CompareExchange(ref current, (failed + 1) % apis.Count, failed);

    private static string Describe(Uri api, string why) => $"{api.OriginalString.TrimEnd('/')}: {why}";

    private static NefeleApiException Problem(string json)
    {
        ProblemDetailsDto? problem = null;
        try
        {
            problem = JsonSerializer.Deserialize(json, NefJsonContext.Default.ProblemDetailsDto);
        }
        catch (JsonException)
        {
            problem = null;
        }

        return new NefeleApiException(problem?.Detail ?? problem?.Title ?? "the node ended the stream with an error") { Code = problem?.Code };
    }

    /// <summary>Turns an error response into the sentence to print: problem details' detail, else its title, else the status.</summary>
    internal static async Task<NefeleApiException> ProblemAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var status = $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}".TrimEnd();
        if ((int)response.StatusCode is >= 300 and < 400 && response.Headers.Location is { } location)
        {
            // Not followed: the key would go wherever the answer points. The user can name it instead.
            status += $" to {location.OriginalString} (nef does not follow redirects: give the endpoint it names in --api or NEFELE_API)";
        }

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

    /// <summary>Reads a whole JSON answer, synchronously (see <see cref="SendAsync"/>).</summary>
    private static Task<T> ReadJsonAsync<T>(HttpResponseMessage response, JsonTypeInfo<T> type, CancellationToken ct)
    {
        using var body = response.Content.ReadAsStream(ct);
        using var buffer = new MemoryStream();
        body.CopyTo(buffer);
        return Task.FromResult(Deserialize(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), type, "response"));
    }

    /// <summary>Reads a whole JSON answer with one of <see cref="HotPathJson"/>'s readers.</summary>
    private static T ReadWhole<T>(HttpResponseMessage response, HotPathReader<T> read, string what, CancellationToken ct)
    {
        using var body = response.Content.ReadAsStream(ct);
        using var buffer = new MemoryStream();
        body.CopyTo(buffer);
        try
        {
            return read(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
        }
        catch (JsonException e)
        {
            throw new NefeleApiException($"the Nefele API sent a malformed {what}: {e.Message}", e);
        }
    }

    private delegate T HotPathReader<T>(ReadOnlySpan<byte> utf8);

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

    private static T Deserialize<T>(ReadOnlySpan<byte> utf8, JsonTypeInfo<T> type, string what)
    {
        try
        {
            return JsonSerializer.Deserialize(utf8, type)
                ?? throw new NefeleApiException($"the Nefele API sent an empty {what}");
        }
        catch (JsonException e)
        {
            throw new NefeleApiException($"the Nefele API sent a malformed {what}: {e.Message}", e);
        }
    }

    private static ByteArrayContent Json(byte[] json)
    {
        var content = new ByteArrayContent(json);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    private HttpClient CreateHttpClient()
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = connectTimeout,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,

            // As on plain http: a redirect is an answer to report, not a place to send the key to.
            AllowAutoRedirect = false,
        };

        // No overall timeout: monitor and logs -f legitimately wait as long as the process runs.
        var client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    private static Uri WithTrailingSlash(Uri uri) =>
        uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");
}
