using System.Text.Json;

namespace Nefele.Cli.Tests;

public sealed class RestTransportTests
{
    private const string A = "0123456789abc";
    private const string B = "0123456789abd";
    private const string C = "0123456789abe";

    private static Dictionary<string, string?> Env(TestApiServer server) =>
        new() { ["NEFELE_API"] = server.Url, ["NEFELE_TENANT"] = "acme" };

    [Fact]
    public async Task Spawn_posts_one_task_with_parsed_units_and_prints_the_npid()
    {
        await using var server = new TestApiServer((_, r) =>
            TestApiServer.WriteAsync(r, 200, "application/json", $$"""{"npids":["{{A}}"],"rejected":[]}"""));

        var run = await NefRun.RunAsync(Env(server),
            "spawn", "--cpu", "1.5", "--mem", "64Mi", "--env", "K=V", "--name", "w", "--request-id", "r-1", "--", "/bin/sleep", "5");

        Assert.Equal((0, A + "\n", string.Empty), (run.Status, run.Out, run.Err));
        var request = Assert.Single(server.Requests);
        Assert.Equal(("POST", "/v1/tenants/acme/spawn"), (request.Method, request.PathAndQuery));
        Assert.StartsWith("application/json", request.ContentType, StringComparison.Ordinal);
        using var body = JsonDocument.Parse(request.Body);
        var root = body.RootElement;
        Assert.Equal("r-1", root.GetProperty("requestId").GetString());
        Assert.Equal(1, root.GetProperty("count").GetInt32());
        Assert.False(root.GetProperty("allowPartial").GetBoolean());
        var task = Assert.Single(root.GetProperty("tasks").EnumerateArray());
        Assert.Equal("/bin/sleep", task.GetProperty("path").GetString());
        Assert.Equal("5", Assert.Single(task.GetProperty("args").EnumerateArray()).GetString());
        Assert.Equal("V", task.GetProperty("env").GetProperty("K").GetString());
        Assert.Equal(1500, task.GetProperty("cpuMillis").GetInt64());
        Assert.Equal(64L * 1024 * 1024, task.GetProperty("memoryBytes").GetInt64());
        Assert.Equal("w", task.GetProperty("name").GetString());
        Assert.False(task.GetProperty("noHandshake").GetBoolean());
        Assert.Equal(JsonValueKind.Null, task.GetProperty("cwd").ValueKind);

        // The task is the contract's ProcessSpec: the wire spec's fields, nothing computed added.
        var wireFields = Nefele.Protocol.V1.ProcessSpec.Descriptor.Fields.InDeclarationOrder().Select(f => f.JsonName).Order();
        Assert.Equal(wireFields, task.EnumerateObject().Select(p => p.Name).Order());
    }

    [Fact]
    public async Task Nspawn_sends_spread_devices_and_affinities()
    {
        await using var server = new TestApiServer((_, r) =>
            TestApiServer.WriteAsync(r, 200, "application/json", $$"""{"npids":["{{A}}","{{B}}"]}"""));

        var run = await NefRun.RunAsync(Env(server), "nspawn", "2", "--spread", "--device", "gpu=1", "--anti-affinity", "name:web", "--", "/bin/true");

        Assert.Equal(0, run.Status);
        using var body = JsonDocument.Parse(Assert.Single(server.Requests).Body);
        Assert.True(body.RootElement.GetProperty("spread").GetBoolean());
        var task = Assert.Single(body.RootElement.GetProperty("tasks").EnumerateArray());
        Assert.Equal(1, task.GetProperty("devices").GetProperty("gpu").GetInt64());
        Assert.Equal("name:web", Assert.Single(task.GetProperty("antiAffinity").EnumerateArray()).GetString());
        Assert.Empty(task.GetProperty("affinity").EnumerateArray());
    }

    [Fact]
    public async Task Nspawn_sends_the_count_and_partial_and_prints_npids_one_a_line()
    {
        await using var server = new TestApiServer((_, r) =>
            TestApiServer.WriteAsync(r, 200, "application/json", $$"""{"npids":["{{A}}","{{B}}"],"rejected":["no capacity for 1 task"]}"""));

        var run = await NefRun.RunAsync(Env(server), "--tenant", "other", "nspawn", "3", "--partial", "--", "/bin/true");

        Assert.Equal(0, run.Status);
        Assert.Equal($"{A}\n{B}\n", run.Out);
        Assert.Equal("nef: 1 not spawned: no capacity for 1 task\n", run.Err);
        var request = Assert.Single(server.Requests);
        Assert.Equal("/v1/tenants/other/spawn", request.PathAndQuery);
        using var body = JsonDocument.Parse(request.Body);
        Assert.Equal(3, body.RootElement.GetProperty("count").GetInt32());
        Assert.True(body.RootElement.GetProperty("allowPartial").GetBoolean());
    }

    [Fact]
    public async Task Problem_details_are_printed_as_one_line_with_exit_status_1()
    {
        await using var server = new TestApiServer((_, r) => TestApiServer.WriteAsync(r, 404, "application/problem+json",
            $$"""{"type":"https://nefele.dev/errors/npid_not_found","title":"npid not found","status":404,"detail":"no process {{A}} in this tenant","code":"npid_not_found"}"""));

        var run = await NefRun.RunAsync(Env(server), "kill", "-9", A);

        Assert.Equal((1, string.Empty, $"nef: no process {A} in this tenant\n"), (run.Status, run.Out, run.Err));
        var request = Assert.Single(server.Requests);
        Assert.Equal(("POST", $"/v1/tenants/acme/processes/{A}/signal"), (request.Method, request.PathAndQuery));
        Assert.Equal(9, JsonDocument.Parse(request.Body).RootElement.GetProperty("signal").GetInt32());
    }

    [Fact]
    public async Task An_error_without_problem_details_prints_the_status()
    {
        await using var server = new TestApiServer((_, r) => TestApiServer.WriteAsync(r, 502, "text/html", "<html>bad gateway</html>"));

        var run = await NefRun.RunAsync(Env(server), "ps");

        Assert.Equal((1, "nef: HTTP 502 Bad Gateway\n"), (run.Status, run.Err));
    }

    [Fact]
    public async Task Unreachable_api_is_reported_clearly()
    {
        var url = $"http://127.0.0.1:{TestApiServer.FreePort()}";

        var run = await NefRun.RunAsync(new Dictionary<string, string?> { ["NEFELE_API"] = url }, "ps");

        Assert.Equal(1, run.Status);
        Assert.StartsWith($"nef: cannot reach the Nefele API at {url}: ", run.Err, StringComparison.Ordinal);
        Assert.Single(run.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Monitor_reads_state_events_until_the_terminal_one()
    {
        const string events = """
            event: state
            data: {"npid":"0123456789abc","seq":1,"state":"Running","node":"n1","pid":7,"end":null,"at":"2025-06-01T12:00:00+00:00"}

            event: state
            data: {"npid":"0123456789abc","seq":2,"state":"Exited","node":"n1","pid":7,"end":{"state":"Exited","exitCode":-1,"signal":9,"coreDumped":false,"oomKilled":true,"reason":null,"endedAt":"2025-06-01T12:00:01+00:00"},"at":"2025-06-01T12:00:01+00:00"}


            """;
        await using var server = new TestApiServer((_, r) => TestApiServer.WriteAsync(r, 200, "text/event-stream", events.ReplaceLineEndings("\n")));

        var run = await NefRun.RunAsync(Env(server), "monitor", A);

        Assert.Equal((0, "killed by SIGKILL (out of memory)\n", string.Empty), (run.Status, run.Out, run.Err));
        var request = Assert.Single(server.Requests);
        Assert.Equal(("GET", $"/v1/tenants/acme/processes/{A}/events?after=0"), (request.Method, request.PathAndQuery));
        Assert.Equal("text/event-stream", request.Accept);
    }

    [Fact]
    public async Task Monitor_of_several_prefixes_each_line_with_its_npid()
    {
        await using var server = new TestApiServer((req, r) =>
        {
            var (npid, end) = req.PathAndQuery.Contains(A, StringComparison.Ordinal)
                ? (A, """{"state":"Exited","exitCode":3,"signal":0}""")
                : (B, """{"state":"FailedToStart","exitCode":-1,"signal":0,"reason":"handshake timed out"}""");
            var terminal = end.Contains("Failed", StringComparison.Ordinal) ? "FailedToStart" : "Exited";
            return TestApiServer.WriteAsync(r, 200, "text/event-stream",
                $"event: state\ndata: {{\"npid\":\"{npid}\",\"seq\":3,\"state\":\"{terminal}\",\"end\":{end}}}\n\n");
        });

        var run = await NefRun.RunAsync(Env(server), "monitor", A, B);

        Assert.Equal(0, run.Status);
        var lines = run.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal);
        Assert.Equal([$"{A}: exited 3", $"{B}: failed to start: handshake timed out"], lines);
    }

    [Fact]
    public async Task Ps_prints_a_table_and_json()
    {
        const string list = """
            {"processes":[{"npid":"0123456789abc","tenant":"acme","node":"n1","pid":42,"state":"Running","cpuMillis":250,
              "memoryBytes":67108864,"createdAt":"2025-06-01T12:00:00+00:00","startedAt":"2025-06-01T12:00:00+00:00",
              "command":"/bin/sleep 100","name":null,"cpuUsageNs":0,"memoryUsageBytes":0,"end":null}]}
            """;
        await using var server = new TestApiServer((_, r) => TestApiServer.WriteAsync(r, 200, "application/json", list));

        var table = await NefRun.RunAsync(Env(server), "ps");
        var json = await NefRun.RunAsync(Env(server), "ps", "--json");

        Assert.Equal(0, table.Status);
        var lines = table.Out.Split('\n');
        Assert.StartsWith("NPID ", lines[0], StringComparison.Ordinal);
        Assert.Matches(@"^0123456789abc  n1    42   Running  -/250m  -/64Mi  \d+[smhd] +/bin/sleep 100$", lines[1]);
        using var doc = JsonDocument.Parse(json.Out);
        var p = Assert.Single(doc.RootElement.EnumerateArray());
        Assert.Equal("0123456789abc", p.GetProperty("npid").GetString());
        Assert.Equal("Running", p.GetProperty("state").GetString());
        Assert.Equal(250, p.GetProperty("cpuMillis").GetInt64());
    }

    [Fact]
    public async Task Killall_signals_only_running_processes_whose_program_matches()
    {
        var list = $$"""
            {"processes":[
              {"npid":"{{A}}","tenant":"acme","state":"Running","command":"/usr/bin/worker --id 1"},
              {"npid":"{{B}}","tenant":"acme","state":"Running","command":"/bin/sleep worker"},
              {"npid":"0123456789abe","tenant":"acme","state":"Exited","command":"/usr/bin/worker --id 2"}]}
            """;
        await using var server = new TestApiServer((req, r) => req.Method == "GET"
            ? TestApiServer.WriteAsync(r, 200, "application/json", list)
            : TestApiServer.WriteAsync(r, 204, "application/json", string.Empty));

        var run = await NefRun.RunAsync(Env(server), "killall", "-KILL", "work*");
        var none = await NefRun.RunAsync(Env(server), "killall", "nginx");

        Assert.Equal((0, string.Empty, string.Empty), (run.Status, run.Out, run.Err));
        var signals = server.Requests.Where(q => q.Method == "POST").ToList();
        var signal = Assert.Single(signals);
        Assert.Equal($"/v1/tenants/acme/processes/{A}/signal", signal.PathAndQuery);
        Assert.Equal(9, JsonDocument.Parse(signal.Body).RootElement.GetProperty("signal").GetInt32());
        Assert.Equal((1, "nef: no process matching nginx\n"), (none.Status, none.Err));
    }

    [Fact]
    public async Task Logs_copies_text_and_follow_rebuilds_chunks_from_events()
    {
        await using var server = new TestApiServer((req, r) => req.PathAndQuery.Contains("follow=true", StringComparison.Ordinal)
            ? TestApiServer.WriteAsync(r, 200, "text/event-stream",
                "event: output\ndata: one\ndata: two\r\ndata: \n\nevent: output\ndata: three\n\nevent: end\ndata: \n\n")
            : TestApiServer.WriteAsync(r, 200, "text/plain; charset=utf-8", "all of it\n"));

        var plain = await NefRun.RunAsync(Env(server), "logs", A);
        var follow = await NefRun.RunAsync(Env(server), "logs", "-f", A);

        Assert.Equal((0, "all of it\n"), (plain.Status, plain.Out));
        Assert.Equal((0, "one\ntwo\r\nthree"), (follow.Status, follow.Out));
        Assert.Equal(
            [$"/v1/tenants/acme/processes/{A}/logs", $"/v1/tenants/acme/processes/{A}/logs?follow=true&offset=0"],
            server.Requests.Select(q => q.PathAndQuery));
    }

    [Fact]
    public async Task Logs_with_filters_asks_the_tenant_logs_and_prefixes_whole_lines_per_process()
    {
        static string Record(string npid, string? name, string stream, string time, long offset, string text) =>
            "event: record\ndata: " + JsonSerializer.Serialize(new { npid, name, node = "n1", stream, time, offset, text, base64 = (string?)null }) + "\n\n";

        // B's line "half one" comes in two records, with one of A's between them: it is printed whole.
        await using var server = new TestApiServer((_, r) => TestApiServer.WriteAsync(r, 200, "text/event-stream",
            Record(A, "web", "stdout", "2026-12-05T20:00:00.000000001Z", 0, "a1\na2\n")
            + Record(B, "web", "stderr", "2026-12-05T20:00:00.000000002Z", 0, "half ")
            + Record(A, "web", "stdout", "2026-12-05T20:00:00.000000003Z", 6, "a3\n")
            + Record(B, "web", "stderr", "2026-12-05T20:00:00.000000004Z", 5, "one\n")
            + Record(C, null, "stdout", "2026-12-05T20:00:00.000000005Z", 0, "no newline")
            + "event: end\ndata: \n\n"));

        var run = await NefRun.RunAsync(Env(server), "logs", "--name", "web", "--since", "5m", "--stream", "stdout");
        var stamped = await NefRun.RunAsync(Env(server), "logs", "-t", A);

        Assert.Equal((0, string.Empty), (run.Status, run.Err));
        Assert.Equal(
            $"web/{A} | a1\nweb/{A} | a2\nweb/{A} | a3\nweb/{B} stderr | half one\n{C} | no newline\n",
            run.Out);
        Assert.StartsWith("2026-12-05T20:00:00.000000001Z a1\n2026-12-05T20:00:00.000000001Z a2\n", stamped.Out, StringComparison.Ordinal);
        Assert.Equal(
            ["/v1/tenants/acme/logs?name=web&stream=stdout&since=5m", $"/v1/tenants/acme/logs?npid={A}"],
            server.Requests.Select(q => q.PathAndQuery));
    }

    [Fact]
    public async Task Cspawn_sends_the_expanded_tasks_with_count_1()
    {
        var file = Path.Combine(Path.GetTempPath(), $"nef-cspawn-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, """{"tasks":[{"path":"/bin/a","count":2},{"path":"/bin/b","mem":"1Gi"}]}""");
        try
        {
            await using var server = new TestApiServer((_, r) =>
                TestApiServer.WriteAsync(r, 200, "application/json", $$"""{"npids":["{{A}}","{{B}}","0123456789abe"]}"""));

            var run = await NefRun.RunAsync(Env(server), "cspawn", file);

            Assert.Equal((0, $"{A}\n{B}\n0123456789abe\n"), (run.Status, run.Out));
            using var body = JsonDocument.Parse(Assert.Single(server.Requests).Body);
            Assert.Equal(1, body.RootElement.GetProperty("count").GetInt32());
            Assert.Equal(["/bin/a", "/bin/a", "/bin/b"], body.RootElement.GetProperty("tasks").EnumerateArray().Select(t => t.GetProperty("path").GetString()));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Usage_errors_exit_2_without_contacting_the_api()
    {
        await using var server = new TestApiServer((_, r) => TestApiServer.WriteAsync(r, 500, "text/plain", "unexpected"));

        var run = await NefRun.RunAsync(Env(server), "spawn", "--mem", "-1", "--", "/bin/true");

        Assert.Equal((2, "nef: --mem: '-1' is negative\n"), (run.Status, run.Err));
        Assert.Empty(server.Requests);
    }
}
