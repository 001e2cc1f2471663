using System.Net;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>
/// The operator's views beside the API: the Orleans dashboard on its own port (--dashboard PORT), and
/// hostd's own Prometheus scrape (--metrics-listen). Each is off by default.
/// </summary>
public sealed class OperatorViewTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Dashboard_answers_on_its_own_port_and_hostd_serves_its_scrape()
    {
        var dashboardPort = FreePort.Next();
        var hostdMetricsPort = FreePort.Next();
        await using var node = await NodeUnderTest.StartAsync(null, ["--metrics-listen", $"127.0.0.1:{hostdMetricsPort}"], ["--dashboard", dashboardPort.ToString()]);
        using var http = new HttpClient { Timeout = Bound };

        // The dashboard's page, without a key; the API does not answer there, nor the dashboard on the API's port.
        using var page = await http.GetAsync($"http://127.0.0.1:{dashboardPort}/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("html", await page.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
        using var apiThere = await http.GetAsync($"http://127.0.0.1:{dashboardPort}/healthz");
        Assert.Equal(HttpStatusCode.NotFound, apiThere.StatusCode);
        using var dashboardOnApi = await node.Http.GetAsync("/");
        Assert.Equal(HttpStatusCode.NotFound, dashboardOnApi.StatusCode);

        // hostd's scrape: its meter's families and its resource, as hostd of this node.
        var scrape = Exposition.Parse(await http.GetStringAsync($"http://127.0.0.1:{hostdMetricsPort}/metrics"));
        var target = Assert.Single(scrape.Samples, s => s.Name == "target_info");
        Assert.Equal("nefele-hostd", target.Labels["service_name"]);
        Assert.Equal(node.Name, target.Labels["nefele_node_name"]);
        Assert.Equal("hostd", target.Labels["nefele_role"]);
        Assert.True(scrape.Samples.Where(s => s.Name == "process_cpu_time_seconds_total").Sum(s => s.Value) > 0);
    }
}
