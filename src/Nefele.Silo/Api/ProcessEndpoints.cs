using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Nefele.Client;
using Nefele.Errors;
using Nefele.Placement;
using Nefele.Processes;
using Nefele.Validation;

namespace Nefele.Silo.Api;

/// <summary>The tenant's process API: spawn, ps, get, monitor (SSE), signal, logs (text or SSE; one process, or many filtered as SSE).</summary>
internal static class ProcessEndpoints
{
    public static void MapProcessEndpoints(this IEndpointRouteBuilder app)
    {
        var tenants = app.MapGroup("/v1/tenants/{tenant}").WithTags("processes");

        tenants.MapPost("/spawn", async (string tenant, SpawnRequest body, IGrainFactory grains) =>
            Results.Ok(await Tenant(grains, tenant).SubmitAsync(body)))
            .RequireAuthorization(Auth.Policies.TenantMember)
            .Produces<SpawnResult>()
            .Operation("spawn", "Spawn one (count 1), N identical (count N) or several different (tasks) processes; answers when all are Running",
                [.. ApiDocs.Body, 403, 404, 409, 422, 503]);

        tenants.MapGet("/processes", async (string tenant, bool? all, IGrainFactory grains) =>
            Results.Ok(new ProcessList(await Tenant(grains, tenant).PsAsync(all == true))))
            .RequireAuthorization(Auth.Policies.TenantViewer)
            .Produces<ProcessList>()
            .Operation("listProcesses", "Every live process of the tenant, on every node (ps); all=true adds those that ended recently (ps -a)", 400, 403);

        tenants.MapGet("/processes/{npid}", async (string tenant, string npid, IGrainFactory grains) =>
            Results.Ok(await Tenant(grains, tenant).GetAsync(npid)))
            .RequireAuthorization(Auth.Policies.TenantViewer)
            .Produces<ProcessInfo>()
            .Operation("getProcess", "One process", 403, 404);

        tenants.MapGet("/processes/{npid}/events", async (string tenant, string npid, long? after, IGrainFactory grains, HttpContext http, IOptions<JsonOptions> json, IOptions<ApiOptions> api) =>
        {
            var client = Tenant(grains, tenant);
            var from = after ?? LastEventId(http, "after=<seq>");
            await client.GetAsync(npid);

            await StreamAsync(http, json.Value, api.Value, client.MonitorAsync(npid, from, http.RequestAborted), e =>
                WriteEvent(http, "state", JsonSerializer.Serialize(e, json.Value.SerializerOptions), e.Seq));
        }).RequireAuthorization(Auth.Policies.TenantViewer)
            .Produces<ProcessEvent>(StatusCodes.Status200OK, EventStream)
            .WithDescription("A text/event-stream of 'state' events, each one's data a ProcessEvent as JSON and its id the event's seq, ending after the terminal state (Exited, FailedToStart, Lost). Resume after the last event seen with after=<seq> or the Last-Event-ID header (on any node: no event is repeated or skipped). A comment line comes every Api:StreamKeepAlive (2 s) while there is nothing to tell. The status is sent with the first event (or after one keep-alive period without one); a refusal after it ends the stream with an 'error' event (problem details).")
            .Operation("monitorProcess", "Server-sent events: every state transition after 'after', ending with the terminal one (monitor)", 400, 403, 404, 429);

        tenants.MapPost("/processes/{npid}/signal", async (string tenant, string npid, SignalBody body, IGrainFactory grains) =>
        {
            await Tenant(grains, tenant).KillAsync(npid, body.Signal);
            return Results.NoContent();
        }).RequireAuthorization(Auth.Policies.TenantMember)
            .Produces(StatusCodes.Status204NoContent)
            .Operation("signalProcess", "Send a POSIX signal to the process (not to its own children)", [.. ApiDocs.Body, 403, 404, 409]);

        tenants.MapGet("/processes/{npid}/logs", async (string tenant, string npid, bool? follow, long? offset, string? stream, IGrainFactory grains, HttpContext http, IOptions<JsonOptions> json, IOptions<ApiOptions> api) =>
        {
            var client = Tenant(grains, tenant);
            LogStream only;
            try
            {
                only = LogFilters.ParseStream(stream);
            }
            catch (FormatException e)
            {
                throw NefeleException.Bad(e.Message);
            }

            var from = offset ?? LastEventId(http, "offset=<bytes>");
            if (from < 0)
            {
                throw NefeleException.Bad($"offset {from} is negative (a byte offset into the output, from 0)");
            }

            await client.GetAsync(npid);
            if (follow != true)
            {
                http.Response.ContentType = "text/plain; charset=utf-8";
                await foreach (var chunk in client.LogChunksAsync(npid, follow: false, from, only, http.RequestAborted))
                {
                    await http.Response.Body.WriteAsync(chunk.Data, http.RequestAborted);
                }

                return;
            }

            await StartEventStream(http);
            await StreamErrorsAsEvent(http, json.Value, async () =>
            {
                // An event carries whole characters only; the bytes of one cut by a chunk's end wait
                // for the next chunk, so each event's id (the offset after its last byte) is where
                // a resumed stream starts without splitting a character.
                var held = Array.Empty<byte>();
                var end = from;
                await using var chunks = client.LogChunksAsync(npid, follow: true, from, only, http.RequestAborted).GetAsyncEnumerator(http.RequestAborted);
                while (await KeepAliveUntil(http, chunks.MoveNextAsync().AsTask(), api.Value.StreamKeepAlive))
                {
                    var chunk = chunks.Current;
                    var bytes = held.Length == 0 ? chunk.Data : [.. held, .. chunk.Data];
                    var whole = chunk.Complete ? bytes.Length : Utf8Boundary.CompletePrefix(bytes);
                    held = bytes[whole..];
                    end = chunk.NextOffset;
                    if (whole > 0)
                    {
                        await WriteEvent(http, "output", Encoding.UTF8.GetString(bytes, 0, whole), end - held.Length);
                    }
                }

                await WriteEvent(http, "end", string.Empty, end);
            });
        }).RequireAuthorization(Auth.Policies.TenantViewer)
            .Produces<string>(StatusCodes.Status200OK, "text/plain", EventStream)
            .WithDescription("The captured output from byte 'offset' (default 0): stdout and stderr in the order hostd read them, or with stream=stdout|stderr only one of them (offsets and ids still count both). Without follow: the output so far as text/plain. With follow=true: a text/event-stream of 'output' events (data: the text, one data line per line; id: the byte offset after it) until the process ends, then one 'end' event; resume with offset=<the last id> or the Last-Event-ID header, on any node, with nothing repeated or skipped. A comment line comes every Api:StreamKeepAlive (2 s) while there is no output. A refusal on the way (e.g. limit_exceeded, too many followers) ends it with an 'error' event (problem details).")
            .Operation("getLogs", "Captured stdout and stderr: text/plain, or with follow=true server-sent 'output' events until the process ends", 400, 403, 404, 429);

        tenants.MapGet("/logs", async (string tenant, string[]? npid, string? name, string? node, string? stream, string? since, string? until, bool? follow, IGrainFactory grains, HttpContext http, IOptions<JsonOptions> json, IOptions<ApiOptions> api) =>
        {
            var client = Tenant(grains, tenant);
            var query = TenantLogQuery(npid, name, node, stream, since, until, follow == true);

            await StreamAsync(
                http,
                json.Value,
                api.Value,
                client.LogsAsync(query, http.RequestAborted),
                r => WriteEvent(http, "record", JsonSerializer.Serialize(Nefele.Api.LogRecordEvent.From(r), json.Value.SerializerOptions)),
                () => WriteEvent(http, "end", string.Empty));
        }).RequireAuthorization(Auth.Policies.TenantViewer)
            .Produces<Nefele.Api.LogRecordEvent>(StatusCodes.Status200OK, EventStream)
            .WithDescription("A text/event-stream of 'record' events, one per record of output of the tenant's processes that match every filter given: npid (repeatable), name (the name given at spawn), node, stream (stdout|stderr), since and until (RFC 3339 times, or durations ago: 30s, 5m, 2h, 2d; since inclusive, until exclusive). Each event's data is a LogRecordEvent as JSON: npid, name, node, stream, time (when hostd read it, RFC 3339 UTC with nanoseconds), offset, text (UTF-8; invalid bytes as U+FFFD, and then base64 holds the exact bytes). Without follow: every record kept within since/until, merged in time order, then one 'end' event. With follow=true: the same, then new records as they come and those of matching processes that start later (looked for once a second), until the client leaves, until has passed, or (a query by npid only) every process has ended; then 'end'. A comment line comes every Api:StreamKeepAlive (2 s) while there is nothing to send. The status is sent with the first event (or after one keep-alive period); a refusal after it ends the stream with an 'error' event (problem details).")
            .Operation("queryLogs", "Server-sent events: the records of many processes across nodes, filtered by npid, name, node, stream and time, merged in time order; follow=true keeps reading", 400, 403, 404, 429);
    }

    /// <summary>The query string of GET /logs as an SDK query; a malformed filter is a 400 naming it.</summary>
    private static LogQuery TenantLogQuery(string[]? npid, string? name, string? node, string? stream, string? since, string? until, bool follow)
    {
        var now = DateTimeOffset.UtcNow;
        try
        {
            return new LogQuery
            {
                Npids = npid ?? [],
                Name = string.IsNullOrEmpty(name) ? null : name,
                Node = string.IsNullOrEmpty(node) ? null : node,
                Stream = LogFilters.ParseStream(stream),
                Since = Bound("since", since, now),
                Until = Bound("until", until, now),
                Follow = follow,
            };
        }
        catch (FormatException e)
        {
            throw NefeleException.Bad(e.Message);
        }

        static DateTimeOffset? Bound(string what, string? text, DateTimeOffset now)
        {
            try
            {
                return string.IsNullOrEmpty(text) ? null : LogFilters.ParseTime(text, now);
            }
            catch (FormatException e)
            {
                throw new FormatException($"{what}: {e.Message}", e);
            }
        }
    }

    private const string EventStream = "text/event-stream";

    private static NefeleTenant Tenant(IGrainFactory grains, string tenant)
    {
        return new NefeleTenant(grains, tenant);
    }

    private static async Task StartEventStream(HttpContext http)
    {
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        await http.Response.Body.FlushAsync(http.RequestAborted);
    }

    /// <summary>
    /// Sends <paramref name="items"/> as server-sent events. The first item (or the end) is awaited
    /// for one keep-alive period before the stream starts (a stream resumed after the last event so
    /// far may wait long), so what refuses the watch (a bad filter, an unknown NPID, a per-process
    /// limit) is still an error status with a problem body; after that a refusal is an 'error' event.
    /// </summary>
    private static async Task StreamAsync<T>(HttpContext http, JsonOptions json, ApiOptions api, IAsyncEnumerable<T> items, Func<T, Task> write, Func<Task>? end = null)
    {
        await using var events = items.GetAsyncEnumerator(http.RequestAborted);
        var first = events.MoveNextAsync().AsTask();
        await Task.WhenAny(first, Task.Delay(api.StreamKeepAlive, http.RequestAborted));
        if (first.IsCompleted || http.RequestAborted.IsCancellationRequested)
        {
            // (Aborted: the producer sees the same token and ends; it must end before it is disposed.)
            await first;
        }

        await StartEventStream(http);
        await StreamErrorsAsEvent(http, json, async () =>
        {
            for (var more = await KeepAliveUntil(http, first, api.StreamKeepAlive); more;
                 more = await KeepAliveUntil(http, events.MoveNextAsync().AsTask(), api.StreamKeepAlive))
            {
                await write(events.Current);
            }

            if (end is not null)
            {
                await end();
            }
        });
    }

    /// <summary>
    /// Once a stream has started its status is sent, so a refusal met later (the log follower
    /// limit, the process's node gone) ends the stream with one 'error' event whose data is the
    /// problem details as JSON, instead of a cut connection.
    /// </summary>
    private static async Task StreamErrorsAsEvent(HttpContext http, JsonOptions json, Func<Task> stream)
    {
        try
        {
            await stream();
        }
        catch (NefeleException e) when (!http.RequestAborted.IsCancellationRequested)
        {
            await WriteEvent(http, "error", JsonSerializer.Serialize(ProblemMapping.Describe(e.Code, e.Message), json.SerializerOptions));
        }
    }

    /// <summary>
    /// Where a stream resumes when its query does not say: the standard Last-Event-ID header a
    /// reconnecting reader sends with the id of the last event it saw (0: from the start).
    /// </summary>
    private static long LastEventId(HttpContext http, string instead)
    {
        var header = http.Request.Headers[Nefele.Api.EventStreams.LastEventIdHeader];
        if (header.Count == 0 || string.IsNullOrEmpty(header[0]))
        {
            return 0;
        }

        return long.TryParse(header[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id)
            ? id
            : throw NefeleException.Bad($"{Nefele.Api.EventStreams.LastEventIdHeader} '{Validation.Names.Shorten(header[0]!)}' is not an event id of this stream (a whole number, as {instead})");
    }

    /// <summary>Awaits <paramref name="next"/>, writing a comment line every <paramref name="keepAlive"/> until it completes.</summary>
    private static async Task<bool> KeepAliveUntil(HttpContext http, Task<bool> next, TimeSpan keepAlive)
    {
        while (!next.IsCompleted)
        {
            using var quiet = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
            var delay = Task.Delay(keepAlive, quiet.Token);
            if (await Task.WhenAny(next, delay) == delay)
            {
                if (delay.IsCanceled)
                {
                    // The reader left: the producer sees the same token and ends, as it must before it is disposed.
                    break;
                }

                await http.Response.WriteAsync(": keep-alive\n", http.RequestAborted);
                await http.Response.Body.FlushAsync(http.RequestAborted);
            }
            else
            {
                await quiet.CancelAsync();
            }
        }

        return await next;
    }

    /// <summary>
    /// One SSE event, with its id when it has one; a payload with newlines becomes several data
    /// lines, which readers join with '\n'.
    /// </summary>
    private static async Task WriteEvent(HttpContext http, string name, string data, long? id = null)
    {
        var text = new StringBuilder().Append("event: ").Append(name).Append('\n');
        if (id is { } seq)
        {
            text.Append("id: ").Append(seq.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
        }

        foreach (var line in data.Split('\n'))
        {
            text.Append("data: ").Append(line).Append('\n');
        }

        text.Append('\n');
        await http.Response.WriteAsync(text.ToString(), http.RequestAborted);
        await http.Response.Body.FlushAsync(http.RequestAborted);
    }
}
