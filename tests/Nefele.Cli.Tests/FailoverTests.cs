using System.Text;
using System.Text.Json;

namespace Nefele.Cli.Tests;

/// <summary>Several API endpoints: nef moves on from one that is down, and resumes a broken stream on the next from the last event.</summary>
public sealed class FailoverTests
{
    private const string A = "0123456789abc";

    private static Dictionary<string, string?> Env(params string[] urls) =>
        new() { ["NEFELE_API"] = string.Join(",", urls), ["NEFELE_TENANT"] = "acme" };

    private static string DeadUrl() => $"http://127.0.0.1:{TestApiServer.FreePort()}";

    [Fact]
    public async Task A_refused_endpoint_is_skipped_for_the_next()
    {
        await using var server = new TestApiServer((_, r) => TestApiServer.WriteAsync(r, 200, "application/json", """{"processes":[]}"""));

        var run = await NefRun.RunAsync(Env(DeadUrl(), server.Url), "ps", "--json");

        Assert.Equal((0, "[]\n", string.Empty), (run.Status, run.Out, run.Err));
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task When_every_endpoint_is_down_each_is_named()
    {
        string first = DeadUrl(), second = DeadUrl();

        var run = await NefRun.RunAsync(Env(first, second), "ps");

        Assert.Equal(1, run.Status);
        Assert.StartsWith("nef: cannot reach the Nefele API at any of its 2 endpoints: ", run.Err, StringComparison.Ordinal);
        Assert.Contains(first + ": ", run.Err, StringComparison.Ordinal);
        Assert.Contains(second + ": ", run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_config_file_lists_endpoints_when_the_environment_does_not()
    {
        await using var server = new TestApiServer((_, r) => TestApiServer.WriteAsync(r, 200, "application/json", """{"processes":[]}"""));
        var config = Path.Combine(Path.GetTempPath(), "nef-config-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(config, "nefele"));
        try
        {
            await File.WriteAllTextAsync(Path.Combine(config, "nefele", "config"), $"# nodes of the cluster\napi = {DeadUrl()}, {server.Url}\n");

            var run = await NefRun.RunAsync(new Dictionary<string, string?> { ["XDG_CONFIG_HOME"] = config, ["NEFELE_TENANT"] = "acme" }, "ps", "--json");

            Assert.Equal((0, "[]\n"), (run.Status, run.Out));
            Assert.Single(server.Requests);
        }
        finally
        {
            Directory.Delete(config, recursive: true);
        }
    }

    [Fact]
    public async Task Spawn_always_carries_a_request_id_so_it_can_be_asked_again()
    {
        await using var server = new TestApiServer((_, r) => TestApiServer.WriteAsync(r, 200, "application/json", $$"""{"npids":["{{A}}"]}"""));

        var run = await NefRun.RunAsync(Env(server.Url), "spawn", "--", "/bin/true");

        Assert.Equal(0, run.Status);
        using var body = JsonDocument.Parse(Assert.Single(server.Requests).Body);
        Assert.False(string.IsNullOrEmpty(body.RootElement.GetProperty("requestId").GetString()));
    }

    [Fact]
    public async Task Logs_follow_resumes_on_the_next_endpoint_from_the_last_byte_without_repeating_or_skipping()
    {
        // The first node sends two chunks (ids: the byte offsets after them), then its stream ends early.
        await using var first = new TestApiServer(async (_, r) =>
        {
            r.StatusCode = 200;
            r.ContentType = "text/event-stream";
            var bytes = "event: output\nid: 4\ndata: one\ndata: \n\nevent: output\nid: 8\ndata: two\ndata: \n\n"u8.ToArray();
            await r.OutputStream.WriteAsync(bytes);
            await r.OutputStream.FlushAsync();
            r.Close(); // ends the stream before its last event, as a node that stops does
        });
        await using var second = new TestApiServer((q, r) => TestApiServer.WriteAsync(r, 200, "text/event-stream",
            q.PathAndQuery.EndsWith("offset=8", StringComparison.Ordinal)
                ? "event: output\nid: 14\ndata: three\ndata: \n\nevent: end\nid: 14\ndata: \n\n"
                : "event: output\ndata: WRONG OFFSET\n\nevent: end\ndata: \n\n"));

        var run = await NefRun.RunAsync(Env(first.Url, second.Url), "logs", "-f", A);

        Assert.Equal((0, "one\ntwo\nthree\n", string.Empty), (run.Status, run.Out, run.Err));
        Assert.Equal($"/v1/tenants/acme/processes/{A}/logs?follow=true&offset=0", Assert.Single(first.Requests).PathAndQuery);
        Assert.Equal($"/v1/tenants/acme/processes/{A}/logs?follow=true&offset=8", Assert.Single(second.Requests).PathAndQuery);
    }

    [Fact]
    public async Task Tenant_logs_resume_on_the_next_endpoint_without_printing_a_record_twice()
    {
        const string recordOne = """{"npid":"0123456789abc","name":"web","node":"n1","stream":"stdout","time":"2026-12-05T20:00:00.000000001Z","offset":0,"text":"one\n","base64":null}""";
        const string recordTwo = """{"npid":"0123456789abc","name":"web","node":"n1","stream":"stdout","time":"2026-12-05T20:00:00.000000002Z","offset":4,"text":"two\n","base64":null}""";

        // The first node sends one record and stops; the merged stream has no ids, so the next node
        // is asked the same query and sends that record again before the new one.
        await using var first = new TestApiServer(async (_, r) =>
        {
            r.StatusCode = 200;
            r.ContentType = "text/event-stream";
            await r.OutputStream.WriteAsync(Encoding.UTF8.GetBytes($"event: record\ndata: {recordOne}\n\n"));
            await r.OutputStream.FlushAsync();
            r.Close();
        });
        await using var second = new TestApiServer((_, r) => TestApiServer.WriteAsync(r, 200, "text/event-stream",
            $"event: record\ndata: {recordOne}\n\nevent: record\ndata: {recordTwo}\n\nevent: end\ndata: \n\n"));

        var run = await NefRun.RunAsync(Env(first.Url, second.Url), "logs", "-f", "--name", "web");

        Assert.Equal((0, "web/0123456789abc | one\nweb/0123456789abc | two\n", string.Empty), (run.Status, run.Out, run.Err));
        Assert.Equal("/v1/tenants/acme/logs?name=web&follow=true", Assert.Single(second.Requests).PathAndQuery);
    }

    [Fact]
    public async Task Monitor_resumes_on_the_next_endpoint_after_the_last_event_seen()
    {
        await using var first = new TestApiServer(async (_, r) =>
        {
            r.StatusCode = 200;
            r.ContentType = "text/event-stream";
            await r.OutputStream.WriteAsync("event: state\nid: 2\ndata: {\"npid\":\"0123456789abc\",\"seq\":2,\"state\":\"Running\"}\n\n"u8.ToArray());
            await r.OutputStream.FlushAsync();
            r.Close(); // ends the stream before its last event, as a node that stops does
        });
        await using var second = new TestApiServer((_, r) => TestApiServer.WriteAsync(r, 200, "text/event-stream",
            "event: state\nid: 3\ndata: {\"npid\":\"0123456789abc\",\"seq\":3,\"state\":\"Exited\",\"end\":{\"state\":\"Exited\",\"exitCode\":4}}\n\n"));

        var run = await NefRun.RunAsync(Env(first.Url, second.Url), "monitor", A);

        Assert.Equal((0, "exited 4\n", string.Empty), (run.Status, run.Out, run.Err));
        Assert.Equal($"/v1/tenants/acme/processes/{A}/events?after=2", Assert.Single(second.Requests).PathAndQuery);
    }

    [Fact]
    public async Task An_error_event_ends_the_stream_with_its_detail_and_is_not_retried()
    {
        await using var server = new TestApiServer((_, r) => TestApiServer.WriteAsync(r, 200, "text/event-stream",
            "event: error\ndata: {\"title\":\"Too many\",\"detail\":\"too many followers of this log\",\"code\":\"limit_exceeded\"}\n\n"));
        await using var other = new TestApiServer((_, r) => TestApiServer.WriteAsync(r, 500, "text/plain", "must not be asked"));

        var run = await NefRun.RunAsync(Env(server.Url, other.Url), "logs", "-f", A);

        Assert.Equal((1, "nef: too many followers of this log\n"), (run.Status, run.Err));
        Assert.Empty(other.Requests);
    }
}
