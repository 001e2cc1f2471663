using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Nefele.Client;
using Nefele.Errors;
using Nefele.Placement;
using Nefele.Processes;

namespace Nefele.Silo.Api;

/// <summary>The tenant's process API: spawn, ps, get, monitor (SSE), signal, logs (text or SSE).</summary>
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

        tenants.MapGet("/processes/{npid}/events", async (string tenant, string npid, long? after, IGrainFactory grains, HttpContext http, IOptions<JsonOptions> json) =>
        {
            var client = Tenant(grains, tenant);
            await client.GetAsync(npid);

            // The first event is awaited before the stream starts, so what refuses the watch (an
            // unknown NPID, the per-process monitor limit) is still an error status with a problem body.
            await using var events = client.MonitorAsync(npid, after ?? 0, http.RequestAborted).GetAsyncEnumerator(http.RequestAborted);
            var more = await events.MoveNextAsync();
            await StartEventStream(http);
            await StreamErrorsAsEvent(http, json.Value, async () =>
            {
                for (; more; more = await events.MoveNextAsync())
                {
                    await WriteEvent(http, "state", JsonSerializer.Serialize(events.Current, json.Value.SerializerOptions));
                }
            });
        }).RequireAuthorization(Auth.Policies.TenantViewer)
            .Produces<ProcessEvent>(StatusCodes.Status200OK, EventStream)
            .WithDescription("A text/event-stream of 'state' events, each one's data a ProcessEvent as JSON, ending after the terminal state (Exited, FailedToStart, Lost). Resume with after=<the last seq seen>. The status is sent with the first event; a refusal after it ends the stream with an 'error' event (problem details).")
            .Operation("monitorProcess", "Server-sent events: every state transition after 'after', ending with the terminal one (monitor)", 400, 403, 404, 429);

        tenants.MapPost("/processes/{npid}/signal", async (string tenant, string npid, SignalBody body, IGrainFactory grains) =>
        {
            await Tenant(grains, tenant).KillAsync(npid, body.Signal);
            return Results.NoContent();
        }).RequireAuthorization(Auth.Policies.TenantMember)
            .Produces(StatusCodes.Status204NoContent)
            .Operation("signalProcess", "Send a POSIX signal to the process (not to its own children)", [.. ApiDocs.Body, 403, 404, 409]);

        tenants.MapGet("/processes/{npid}/logs", async (string tenant, string npid, bool? follow, IGrainFactory grains, HttpContext http, IOptions<JsonOptions> json) =>
        {
            var client = Tenant(grains, tenant);
            await client.GetAsync(npid);
            if (follow != true)
            {
                http.Response.ContentType = "text/plain; charset=utf-8";
                await foreach (var chunk in client.LogsAsync(npid, follow: false, http.RequestAborted))
                {
                    await http.Response.Body.WriteAsync(chunk, http.RequestAborted);
                }

                return;
            }

            await StartEventStream(http);
            var decoder = Encoding.UTF8.GetDecoder();
            await StreamErrorsAsEvent(http, json.Value, async () =>
            {
                await foreach (var chunk in client.LogsAsync(npid, follow: true, http.RequestAborted))
                {
                    var chars = new char[decoder.GetCharCount(chunk, flush: false)];
                    decoder.GetChars(chunk, chars, flush: false);
                    await WriteEvent(http, "output", new string(chars));
                }

                await WriteEvent(http, "end", string.Empty);
            });
        }).RequireAuthorization(Auth.Policies.TenantViewer)
            .Produces<string>(StatusCodes.Status200OK, "text/plain", EventStream)
            .WithDescription("Without follow: the captured output so far as text/plain. With follow=true: a text/event-stream of 'output' events (data: the text, one data line per line) until the process ends, then one 'end' event; a refusal on the way (e.g. limit_exceeded, too many followers) ends it with an 'error' event (problem details).")
            .Operation("getLogs", "Captured stdout and stderr: text/plain, or with follow=true server-sent 'output' events until the process ends", 400, 403, 404, 429);
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

    /// <summary>One SSE event; a payload with newlines becomes several data lines, which readers join with '\n'.</summary>
    private static async Task WriteEvent(HttpContext http, string name, string data)
    {
        var text = new StringBuilder().Append("event: ").Append(name).Append('\n');
        foreach (var line in data.Split('\n'))
        {
            text.Append("data: ").Append(line).Append('\n');
        }

        text.Append('\n');
        await http.Response.WriteAsync(text.ToString(), http.RequestAborted);
        await http.Response.Body.FlushAsync(http.RequestAborted);
    }
}
