using System.Text.Json;

namespace Nefele.Cli.Tests;

/// <summary>
/// nef's own HTTP/1.1 exchange for plain http endpoints: the answer's three framings, no kept
/// connection, redirects reported rather than followed, and failures shaped for the failover rules.
/// </summary>
public sealed class PlainHttpExchangeTests
{
    private const string A = "0123456789abc";
    private const string Process = $$"""{"npid":"{{A}}","tenant":"acme","node":"n1","pid":42,"state":"Running","command":"/bin/sleep 100"}""";

    private static string Ok(string json) =>
        $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {System.Text.Encoding.UTF8.GetByteCount(json)}\r\n\r\n{json}";

    private static Dictionary<string, string?> Env(params string[] urls) =>
        new() { ["NEFELE_API"] = string.Join(",", urls), ["NEFELE_TENANT"] = "acme", ["NEFELE_TOKEN"] = "nfk_test" };

    [Fact]
    public async Task A_chunked_answer_split_anywhere_is_read_whole()
    {
        var list = $$"""{"processes":[{{Process}}]}""";
        await using var server = new RawHttpServer(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n",
            $"{10:x};ext=1\r\n{list[..10]}\r\n{list.Length - 10:X}\r",
            $"\n{list[10..40]}",
            $"{list[40..]}\r\n0\r\n",
            "Trailer-Name: x\r\n\r\n");

        var run = await NefRun.RunAsync(Env(server.Url), "ps", "--json");

        Assert.Equal((0, string.Empty), (run.Status, run.Err));
        using var doc = JsonDocument.Parse(run.Out);
        Assert.Equal(A, Assert.Single(doc.RootElement.EnumerateArray()).GetProperty("npid").GetString());
    }

    [Fact]
    public async Task An_answer_without_a_length_ends_with_the_connection()
    {
        await using var server = new RawHttpServer(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"npids\":",
            $"[\"{A}\"],\"rejected\":[]}}");

        var run = await NefRun.RunAsync(Env(server.Url), "spawn", "--", "/bin/true");

        Assert.Equal((0, A + "\n", string.Empty), (run.Status, run.Out, run.Err));
    }

    [Fact]
    public async Task The_request_carries_host_key_body_and_asks_for_no_kept_connection()
    {
        await using var server = new RawHttpServer(
            Ok($"{{\"npids\":[\"{A}\"]}}"));

        var run = await NefRun.RunAsync(Env(server.Url), "spawn", "--request-id", "r-1", "--", "/bin/true");

        Assert.Equal((0, A + "\n"), (run.Status, run.Out));
        var request = Assert.Single(server.Requests);
        var (head, body) = (request[..request.IndexOf("\r\n\r\n", StringComparison.Ordinal)], request[(request.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..]);
        var lines = head.Split("\r\n");
        Assert.Equal("POST /v1/tenants/acme/spawn HTTP/1.1", lines[0]);
        Assert.Contains($"Host: {new Uri(server.Url).Authority}", lines);
        Assert.Contains("Authorization: Bearer nfk_test", lines);
        Assert.Contains("Connection: close", lines);
        Assert.Contains(lines, l => l.StartsWith("Content-Type: application/json", StringComparison.Ordinal));
        Assert.Contains($"Content-Length: {System.Text.Encoding.UTF8.GetByteCount(body)}", lines);
        using var doc = JsonDocument.Parse(body);
        Assert.Equal("r-1", doc.RootElement.GetProperty("requestId").GetString());
    }

    [Fact]
    public async Task A_redirect_is_reported_and_not_followed()
    {
        await using var elsewhere = new RawHttpServer("HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\n{\"processes\":[]}\n");
        await using var server = new RawHttpServer(
            $"HTTP/1.1 307 Temporary Redirect\r\nLocation: {elsewhere.Url}/v1/tenants/acme/processes\r\nContent-Length: 0\r\n\r\n");

        var run = await NefRun.RunAsync(Env(server.Url), "ps");

        Assert.Equal(1, run.Status);
        Assert.Equal($"nef: HTTP 307 Temporary Redirect to {elsewhere.Url}/v1/tenants/acme/processes (nef does not follow redirects: give the endpoint it names in --api or NEFELE_API)\n", run.Err);
        Assert.Single(server.Requests);
        Assert.Empty(elsewhere.Requests);
    }

    [Fact]
    public async Task An_answer_that_is_not_http_is_an_error_that_says_so()
    {
        await using var server = new RawHttpServer("SSH-2.0-OpenSSH_9.6\r\n\r\n");

        var run = await NefRun.RunAsync(Env(server.Url), "ps");

        Assert.Equal(1, run.Status);
        Assert.Equal($"nef: cannot reach the Nefele API at {server.Url}: the node's answer is not valid HTTP: status line 'SSH-2.0-OpenSSH_9.6'\n", run.Err);
    }

    [Fact]
    public async Task A_body_cut_short_is_an_error_not_a_truncated_answer()
    {
        await using var server = new RawHttpServer("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"processes\":[]}");

        var run = await NefRun.RunAsync(Env(server.Url), "ps");

        Assert.Equal(1, run.Status);
        Assert.Equal($"nef: cannot reach the Nefele API at {server.Url}: the node closed the connection after 16 of 100 bytes of its answer\n", run.Err);
    }

    [Fact]
    public async Task A_spawn_whose_connection_closed_unanswered_is_asked_again_of_the_next_endpoint()
    {
        await using var silent = new RawHttpServer();
        await using var server = new RawHttpServer(Ok($"{{\"npids\":[\"{A}\"]}}"));

        var run = await NefRun.RunAsync(Env(silent.Url, server.Url), "spawn", "--", "/bin/true");

        Assert.Equal((0, A + "\n", string.Empty), (run.Status, run.Out, run.Err));
        static string Body(string request) => request[(request.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        Assert.Equal(Body(Assert.Single(silent.Requests)), Body(Assert.Single(server.Requests)));
    }

    [Fact]
    public async Task A_kill_whose_connection_closed_unanswered_is_not_sent_again()
    {
        await using var silent = new RawHttpServer();
        await using var server = new RawHttpServer("HTTP/1.1 204 No Content\r\n\r\n");

        var run = await NefRun.RunAsync(Env(silent.Url, server.Url), "kill", A);

        Assert.Equal(1, run.Status);
        Assert.Equal($"nef: connection lost with the Nefele API at {silent.Url}: the node closed the connection without answering; the request may or may not have been carried out\n", run.Err);
        Assert.Single(silent.Requests);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task A_key_with_a_line_break_is_refused_before_anything_is_sent()
    {
        await using var server = new RawHttpServer("HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n{\"processes\":[]}");
        var env = Env(server.Url);
        env["NEFELE_TOKEN"] = "nfk_a\r\nX-Injected: 1";

        var run = await NefRun.RunAsync(env, "ps");

        Assert.Equal(1, run.Status);
        Assert.StartsWith("nef: the Authorization header to send holds a line break", run.Err, StringComparison.Ordinal);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task An_endpoint_that_never_accepts_is_given_up_after_the_connect_timeout()
    {
        // A listener whose accept queue is full: the kernel drops further connection attempts unanswered.
        using var listener = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        listener.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        listener.Listen(0);
        var endpoint = (System.Net.IPEndPoint)listener.LocalEndPoint!;
        var fillers = new List<System.Net.Sockets.Socket>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var filler = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
                fillers.Add(filler);
                _ = filler.ConnectAsync(endpoint);
            }

            var url = $"http://127.0.0.1:{endpoint.Port}";
            await using var transport = new Nefele.Cli.Transport.RestTransport(new Uri(url), "acme", TimeSpan.FromMilliseconds(300));

            var error = await Assert.ThrowsAsync<Nefele.Cli.Transport.NefeleApiException>(() => transport.PsAsync(all: false, CancellationToken.None)).WaitAsync(TimeSpan.FromSeconds(30));

            Assert.Equal($"cannot reach the Nefele API at {url}: no connection within 0.3 s", error.Message);
        }
        finally
        {
            fillers.ForEach(f => f.Dispose());
        }
    }
}
