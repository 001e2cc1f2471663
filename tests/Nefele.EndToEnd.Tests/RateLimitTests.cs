using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Nefele.Auth;
using Nefele.Client;
using Nefele.Errors;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>Per-key request rate limits: a key over its rate gets 429 rate_limited; other keys are not slowed by it.</summary>
public sealed class RateLimitTests
{
    [Fact]
    public async Task A_key_over_its_request_rate_gets_429_and_other_keys_are_served()
    {
        await using var node = await NodeUnderTest.StartAsync(null, [], ["--Api:RequestsPerSecondPerKey=1", "--Api:RequestBurstPerKey=3"]);
        var busy = await node.CreateKeyAsync("ratelimited", "busy", Role.Viewer);
        var calm = await node.CreateKeyAsync("ratelimited", "calm", Role.Viewer);

        HttpStatusCode last = HttpStatusCode.OK;
        string? code = null;
        for (var i = 0; i < 20 && last != HttpStatusCode.TooManyRequests; i++)
        {
            using var response = await Get(node, busy);
            last = response.StatusCode;
            if (last == HttpStatusCode.TooManyRequests)
            {
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                code = problem.RootElement.GetProperty("code").GetString();
            }
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, last);
        Assert.Equal(ErrorCodes.RateLimited, code);
        using var other = await Get(node, calm);
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
    }

    private static async Task<HttpResponseMessage> Get(NodeUnderTest node, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/tenants/ratelimited/processes");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return await node.Anonymous.SendAsync(request);
    }
}
