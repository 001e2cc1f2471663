using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Nefele.Client;
using Nefele.Errors;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>
/// The REST contract on a real node: strict JSON bodies, a problem details body with a stable code for
/// every error status, the documented URL and body limits, and an OpenAPI document that describes all
/// of it. Every refused request leaves the tenant's ps -a as it was and the node serving.
/// </summary>
public sealed class RestContractTests(NodeFixture fixture) : IClassFixture<NodeFixture>, IAsyncLifetime
{
    private const string Tenant = "contract";
    private const string Spawn = $"/v1/tenants/{Tenant}/spawn";

    /// <summary>The documented body limit: 1 MiB.</summary>
    private const long BodyLimit = 1024 * 1024;

    /// <summary>The documented URL limit.</summary>
    private const int UrlLimit = 4096;

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private IReadOnlyList<string> _before = [];

    private NodeUnderTest Node => fixture.Node;

    public async Task InitializeAsync() => _before = await PsAllAsync();

    /// <summary>After every refusal: nothing was spawned or changed, and the node still serves.</summary>
    public async Task DisposeAsync()
    {
        Assert.Equal(_before, await PsAllAsync());
        using var health = await Node.Anonymous.GetAsync("/healthz").WaitAsync(Bound);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Theory]
    [InlineData("""{"tasks":[{"path":"/bin/sleep","args":["60"]}],"priority":5}""", "priority")]
    [InlineData("""{"tasks":[{"path":"/bin/sleep","args":["60"],"user":"root"}]}""", "user")]
    [InlineData("""{"tasks":[{"path":"/bin/sleep","args":["60"]}],"parent":"0726rx4cm0000"}""", "parent")]
    [InlineData("""{"tasks":[{"path":"/bin/sleep","args":["60"]}],"Count":2}""", "Count")]
    [InlineData("""{"tasks":[{"path":"/bin/sleep","args":["60"],"commandLine":"/bin/sh"}]}""", "commandLine")]
    public async Task Unknown_field_is_refused_naming_it(string body, string field)
    {
        var detail = await AssertProblem(await PostJson(Spawn, body), HttpStatusCode.BadRequest, ErrorCodes.InvalidJson);
        Assert.Contains($"'{field}'", detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"tasks":[{"path":"/bin/sleep","args":["60"]}],"count":1,"count":3}""", "count")]
    [InlineData("""{"tasks":[{"path":"/bin/sleep","path":"/bin/sh","args":["60"]}]}""", "path")]
    [InlineData("""{"tasks":[{"path":"/bin/sleep","args":["60"],"env":{"A":"1","A":"2"}}]}""", "A")]
    public async Task Duplicate_field_is_refused_naming_it(string body, string field)
    {
        var detail = await AssertProblem(await PostJson(Spawn, body), HttpStatusCode.BadRequest, ErrorCodes.InvalidJson);
        Assert.Contains("duplicate", detail, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(field, detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Misspelt_memory_is_refused_not_ignored()
    {
        var body = """{"tasks":[{"path":"/bin/sleep","args":["60"],"memory":"1Gi"}]}""";

        var detail = await AssertProblem(await PostJson(Spawn, body), HttpStatusCode.BadRequest, ErrorCodes.InvalidJson);

        Assert.Contains("'memory'", detail, StringComparison.Ordinal);
        Assert.Contains("memoryBytes", detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"tasks":[{"path":"/bin/sleep","args":["60"]}],"count":"2"}""", "count")]
    [InlineData("""{"tasks":[{"path":"/bin/sleep","args":["60"],"cpuMillis":"250"}]}""", "cpuMillis")]
    [InlineData("""{"tasks":[{"path":"/bin/sleep","args":["60"],"memoryBytes":1.5}]}""", "memoryBytes")]
    [InlineData("""{"tasks":[{"path":"/bin/sleep","args":["60"]}],"count":99999999999}""", "count")]
    [InlineData("""{"tasks":null}""", "tasks")]
    [InlineData("""{"tasks":[{"args":["60"]}]}""", "path")]
    public async Task Value_of_the_wrong_type_is_refused_naming_the_field(string body, string field)
    {
        var detail = await AssertProblem(await PostJson(Spawn, body), HttpStatusCode.BadRequest, ErrorCodes.InvalidJson);
        Assert.Contains(field, detail, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("42")]
    [InlineData("\"spawn\"")]
    public async Task Body_that_is_not_a_json_object_is_refused(string body)
    {
        var detail = await AssertProblem(await PostJson(Spawn, body), HttpStatusCode.BadRequest, ErrorCodes.InvalidJson);
        Assert.Contains("JSON object", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Empty_body_is_refused()
    {
        var detail = await AssertProblem(await PostJson(Spawn, string.Empty), HttpStatusCode.BadRequest, ErrorCodes.BadRequest);
        Assert.Contains("JSON body", detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(0)]
    [InlineData(1000000)]
    public async Task Impossible_counts_are_refused_clearly(int count)
    {
        var body = $$"""{"count":{{count}},"tasks":[{"path":"/bin/sleep","args":["60"]}]}""";

        var detail = await AssertProblem(await PostJson(Spawn, body), HttpStatusCode.BadRequest, ErrorCodes.BadRequest);

        Assert.Contains(count.ToString(System.Globalization.CultureInfo.InvariantCulture), detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Body_of_50_MB_is_refused_with_413_before_it_is_sent()
    {
        // With "Expect: 100-continue" the client sends the body only once the server asks for it;
        // a server that reads nothing of an oversized body never asks.
        using var http = new HttpClient(new SocketsHttpHandler { Expect100ContinueTimeout = TimeSpan.FromSeconds(60) })
        {
            BaseAddress = new Uri(Node.ApiUrl),
            Timeout = TimeSpan.FromSeconds(60),
        };
        var content = new LazyBody(50L * 1000 * 1000);
        using var request = new HttpRequestMessage(HttpMethod.Post, Spawn) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Node.AdminKey);
        request.Headers.ExpectContinue = true;

        var response = await http.SendAsync(request).WaitAsync(Bound);

        var detail = await AssertProblem(response, HttpStatusCode.RequestEntityTooLarge, ErrorCodes.PayloadTooLarge);
        Assert.Contains("50000000", detail, StringComparison.Ordinal);
        Assert.Contains(BodyLimit.ToString(System.Globalization.CultureInfo.InvariantCulture), detail, StringComparison.Ordinal);
        Assert.Equal(0, content.Sent);
    }

    [Fact]
    public async Task Body_at_the_limit_is_read_and_one_byte_over_is_refused()
    {
        // A well-formed JSON body padded with spaces to the size wanted: at the limit it is read and
        // judged on its content; one byte over, it is refused for its size.
        var json = """{"tasks":[{"path":"/bin/sleep","args":["60"]}],"count":0}""";
        await AssertProblem(await PostJson(Spawn, json.PadRight((int)BodyLimit)), HttpStatusCode.BadRequest, ErrorCodes.BadRequest);

        // Refused from its Content-Length before it is read: with "Expect: 100-continue" the client
        // waits to be asked for the body, so it is not still sending when the server answers and closes.
        using var request = new HttpRequestMessage(HttpMethod.Post, Spawn)
        {
            Content = new StringContent(json.PadRight((int)BodyLimit + 1), Encoding.UTF8, "application/json"),
        };
        request.Headers.ExpectContinue = true;
        var over = await Node.Http.SendAsync(request).WaitAsync(Bound);
        await AssertProblem(over, HttpStatusCode.RequestEntityTooLarge, ErrorCodes.PayloadTooLarge);
    }

    [Fact]
    public async Task Long_url_is_refused_with_414()
    {
        var url = $"/v1/tenants/{Tenant}/processes/" + new string('a', 2 * UrlLimit);

        var response = await Node.Http.GetAsync(url).WaitAsync(Bound);

        var detail = await AssertProblem(response, HttpStatusCode.RequestUriTooLong, ErrorCodes.UriTooLong);
        Assert.Contains(UrlLimit.ToString(System.Globalization.CultureInfo.InvariantCulture), detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("application/xml")]
    public async Task Body_that_is_not_json_is_refused_with_415(string mediaType)
    {
        using var content = new StringContent("""{"tasks":[{"path":"/bin/sleep","args":["60"]}]}""", Encoding.UTF8, mediaType);

        var response = await Node.Http.PostAsync(Spawn, content).WaitAsync(Bound);

        var detail = await AssertProblem(response, HttpStatusCode.UnsupportedMediaType, ErrorCodes.UnsupportedMediaType);
        Assert.Contains(mediaType, detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("DELETE", Spawn, "POST")]
    [InlineData("GET", Spawn, "POST")]
    [InlineData("PUT", $"/v1/tenants/{Tenant}/processes", "GET")]
    public async Task Wrong_method_is_refused_with_405_and_the_allowed_ones(string method, string url, string allowed)
    {
        var response = await Node.Http.SendAsync(new HttpRequestMessage(new HttpMethod(method), url)).WaitAsync(Bound);

        Assert.Contains(allowed, response.Content.Headers.Allow);
        await AssertProblem(response, HttpStatusCode.MethodNotAllowed, ErrorCodes.MethodNotAllowed);
    }

    [Theory]
    [InlineData("GET", "/v1/processes")]
    [InlineData("POST", "/v2/tenants/contract/spawn")]
    [InlineData("GET", $"/v1/tenants/{Tenant}/processes/0726rx4cm0000/stdout")]
    public async Task Unknown_route_is_404_with_a_key_and_401_without(string method, string url)
    {
        var keyed = await Node.Http.SendAsync(new HttpRequestMessage(new HttpMethod(method), url)).WaitAsync(Bound);
        var detail = await AssertProblem(keyed, HttpStatusCode.NotFound, ErrorCodes.RouteNotFound);
        Assert.Contains(url, detail, StringComparison.Ordinal);

        // Without a key nothing is revealed, not even which routes exist.
        var anonymous = await Node.Anonymous.SendAsync(new HttpRequestMessage(new HttpMethod(method), url)).WaitAsync(Bound);
        await AssertProblem(anonymous, HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated);
    }

    [Theory]
    [InlineData($"/v1/tenants/{Tenant}/processes?all=maybe", "all")]
    [InlineData($"/v1/tenants/{Tenant}/processes/0726rx4cm0000/events?after=soon", "after")]
    public async Task Malformed_query_parameter_is_refused_naming_it(string url, string parameter)
    {
        var response = await Node.Http.GetAsync(url).WaitAsync(Bound);

        var detail = await AssertProblem(response, HttpStatusCode.BadRequest, ErrorCodes.BadRequest);
        Assert.Contains($"'{parameter}'", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Signal_body_is_strict_too()
    {
        var url = $"/v1/tenants/{Tenant}/processes/0726rx4cm0000/signal";
        await AssertProblem(await PostJson(url, """{"signal":"9"}"""), HttpStatusCode.BadRequest, ErrorCodes.InvalidJson);
        await AssertProblem(await PostJson(url, """{}"""), HttpStatusCode.BadRequest, ErrorCodes.InvalidJson);
        await AssertProblem(await PostJson(url, """{"signal":9,"pid":1}"""), HttpStatusCode.BadRequest, ErrorCodes.InvalidJson);
    }

    [Fact]
    public async Task OpenApi_document_describes_every_operation_its_errors_and_the_key_scheme()
    {
        using var document = JsonDocument.Parse(await Node.Http.GetStringAsync("/openapi/v1.json").WaitAsync(Bound));
        var root = document.RootElement;
        var scheme = root.GetProperty("components").GetProperty("securitySchemes").EnumerateObject().Single();
        Assert.Equal("http", scheme.Value.GetProperty("type").GetString());
        Assert.Equal("bearer", scheme.Value.GetProperty("scheme").GetString());

        var operationIds = new HashSet<string>();
        foreach (var path in root.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject().Where(o => o.Name != "parameters"))
            {
                var where = $"{operation.Name} {path.Name}";
                var id = operation.Value.GetProperty("operationId").GetString();
                Assert.False(string.IsNullOrEmpty(id), where);
                Assert.True(operationIds.Add(id!), $"{where}: operationId {id} used twice");

                var schemes = operation.Value.TryGetProperty("security", out var security) ? security.GetArrayLength() : 0;
                Assert.True((path.Name == "/healthz" ? 0 : 1) == schemes, $"{where}: {schemes} security requirements");

                foreach (var response in operation.Value.GetProperty("responses").EnumerateObject())
                {
                    var status = int.Parse(response.Name, System.Globalization.CultureInfo.InvariantCulture);
                    // No content, and none to describe: 204, and the 101 of attach's WebSocket upgrade.
                    if (status is 204 or 101)
                    {
                        continue;
                    }

                    Assert.True(response.Value.TryGetProperty("content", out var content), $"{where} {status} has no content");
                    foreach (var media in content.EnumerateObject())
                    {
                        Assert.True(media.Value.TryGetProperty("schema", out _), $"{where} {status} {media.Name} has no schema");
                    }

                    if (status >= 400)
                    {
                        var problem = content.GetProperty("application/problem+json").GetProperty("schema").GetProperty("$ref").GetString();
                        Assert.EndsWith("/ApiProblem", problem, StringComparison.Ordinal);
                    }
                }
            }
        }

        Assert.Contains("spawn", operationIds);
        Assert.Contains("monitorProcess", operationIds);
        var attach = root.GetProperty("paths").GetProperty("/v1/tenants/{tenant}/processes/{npid}/attach").GetProperty("get");
        Assert.True(attach.GetProperty("responses").TryGetProperty("101", out _));
        var monitor = root.GetProperty("paths").GetProperty("/v1/tenants/{tenant}/processes/{npid}/events").GetProperty("get");
        Assert.True(monitor.GetProperty("responses").GetProperty("200").GetProperty("content").TryGetProperty("text/event-stream", out _));

        // Numbers are numbers: no integer that may also be a string.
        var schemas = root.GetProperty("components").GetProperty("schemas");
        var count = schemas.GetProperty("SpawnRequest").GetProperty("properties").GetProperty("count");
        Assert.Equal("integer", count.GetProperty("type").GetString());
        Assert.DoesNotContain("\"pattern\"", root.GetRawText(), StringComparison.Ordinal);
        var problemSchema = schemas.GetProperty("ApiProblem");
        Assert.Contains("code", problemSchema.GetProperty("required").EnumerateArray().Select(e => e.GetString()));
        var codes = problemSchema.GetProperty("properties").GetProperty("code").GetProperty("enum").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Contains(ErrorCodes.RouteNotFound, codes);
        Assert.Contains(ErrorCodes.NpidNotFound, codes);
        Assert.Equal("string", schemas.GetProperty("ProcessState").GetProperty("type").GetString());
    }

    private async Task<HttpResponseMessage> PostJson(string url, string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        return await Node.Http.PostAsync(url, content).WaitAsync(Bound);
    }

    /// <summary>The tenant's ps -a (live and recently ended), as NPID and state.</summary>
    private async Task<IReadOnlyList<string>> PsAllAsync()
    {
        var tenant = await Node.SdkAsync(Tenant);
        return (await tenant.PsAsync(all: true)).Select(p => $"{p.Npid} {p.State}").Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>Asserts the response is the problem details of that status and code, and disposes it.</summary>
    private static async Task<string> AssertProblem(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            using var problem = JsonDocument.Parse(text);
            Assert.Equal(code, problem.RootElement.GetProperty("code").GetString());
            Assert.Equal((int)status, problem.RootElement.GetProperty("status").GetInt32());
            Assert.Equal($"https://nefele.dev/errors/{code}", problem.RootElement.GetProperty("type").GetString());
            var detail = problem.RootElement.GetProperty("detail").GetString();
            Assert.False(string.IsNullOrWhiteSpace(detail));
            return detail!;
        }
    }

    /// <summary>A JSON-typed body of spaces, made as it is sent, that counts what it handed to the connection.</summary>
    private sealed class LazyBody : HttpContent
    {
        private readonly long _length;
        private long _sent;

        public LazyBody(long length)
        {
            _length = length;
            Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        public long Sent => Interlocked.Read(ref _sent);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var chunk = new byte[64 * 1024];
            Array.Fill(chunk, (byte)' ');
            for (var left = _length; left > 0; left -= chunk.Length)
            {
                var n = (int)Math.Min(chunk.Length, left);
                await stream.WriteAsync(chunk.AsMemory(0, n));
                Interlocked.Add(ref _sent, n);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _length;
            return true;
        }
    }
}
