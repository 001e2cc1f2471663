using System.Net;
using System.Text.Json;
using Nefele.Client;
using Nefele.Errors;
using Nefele.Processes;
using Nefele.Testing;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>A node that keeps one ended process per tenant: the one before is collected, and REST says so.</summary>
public sealed class RetentionTests
{
    [Fact]
    public async Task Ended_process_past_retention_is_404_npid_not_found_over_REST_saying_it_was_collected()
    {
        await using var node = await NodeUnderTest.StartAsync(null, [], ["--retention-count", "1"]);
        var tenant = await node.SdkAsync("retention");
        var first = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/true" });
        await tenant.WaitAsync(first).WaitAsync(Cleanup.Wait);
        using (var kept = await node.Http.GetAsync($"/v1/tenants/retention/processes/{first}"))
        {
            Assert.Equal(HttpStatusCode.OK, kept.StatusCode);
        }

        // The second end goes over the count of one: the first is collected at once (not on the timer).
        var second = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/true" });
        await tenant.WaitAsync(second).WaitAsync(Cleanup.Wait);
        string? detail = null;
        await Eventually.Until(async () =>
        {
            using var response = await node.Http.GetAsync($"/v1/tenants/retention/processes/{first}");
            if (response.StatusCode != HttpStatusCode.NotFound)
            {
                return false;
            }

            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal(ErrorCodes.NpidNotFound, problem.RootElement.GetProperty("code").GetString());
            detail = problem.RootElement.GetProperty("detail").GetString();
            return true;
        }, Cleanup.Wait, $"{first} collected");

        Assert.Contains("collected", detail, StringComparison.Ordinal);
        using var latest = await node.Http.GetAsync($"/v1/tenants/retention/processes/{second}");
        Assert.Equal(HttpStatusCode.OK, latest.StatusCode);
    }
}
