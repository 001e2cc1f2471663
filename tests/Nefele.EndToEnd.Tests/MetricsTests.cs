using Nefele.Client;
using Nefele.Errors;
using Nefele.Processes;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>
/// GET /metrics: the Prometheus scrape of a node's silo (OpenTelemetry's exporter). Read with
/// <see cref="Exposition"/>, a strict reader of the text format written from its specification;
/// asserted by metric names, labels and values (what a scraper sees, as the README lists them).
/// </summary>
public sealed class MetricsTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private const long Mi = 1L << 20;
    private const string Tenant = "metrics-counts";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private NodeUnderTest Node => fixture.Node;

    private (string, string) OnThisNode => ("nefele_node", Node.Name);

    private static (string, string) OfTenant => ("nefele_tenant", Tenant);

    [Fact]
    public async Task Counters_and_gauges_move_by_exactly_what_the_test_did()
    {
        var tenant = await Node.SdkAsync(Tenant);

        // Another test's ended process may still hold its reservation for a moment.
        var before = await ScrapeUntilAsync(m => m.ValueOrZero("nefele_node_processes", OnThisNode) == 0, "the node idle");

        // One process that exits 0, one that exits 3, and one that runs with a reservation.
        var ok = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sh", Args = ["-c", "exit 0"] });
        var failing = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sh", Args = ["-c", "exit 3"] });
        var sleeper = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sleep", Args = ["300"], CpuMillis = 100, MemoryBytes = 16 * Mi });
        try
        {
            Assert.Equal(0, (await tenant.WaitAsync(ok).WaitAsync(Bound)).ExitCode);
            Assert.Equal(3, (await tenant.WaitAsync(failing).WaitAsync(Bound)).ExitCode);

            // Ends are counted, and the ended processes' reservations released, as they are recorded,
            // which may trail the wait.
            var running = await ScrapeUntilAsync(m => Delta(before, m, "nefele_process_ends_total", Ended("crashed")) >= 1
                && Delta(before, m, "nefele_process_ends_total", Ended("exited")) >= 1
                && m.ValueOrZero("nefele_node_processes", OnThisNode) == 1, "both ends counted and released");

            Assert.Equal(3, Delta(before, running, "nefele_process_starts_total", OfTenant, OnThisNode));
            Assert.Equal(3, Delta(before, running, "nefele_process_spawn_duration_seconds_count"));
            Assert.Equal(3, Delta(before, running, "nefele_process_spawn_duration_seconds_bucket", ("le", "+Inf")));
            Assert.True(Delta(before, running, "nefele_process_spawn_duration_seconds_sum") > 0);
            Assert.Equal(3, Delta(before, running, "nefele_placement_admissions_total"));
            Assert.Equal(1, Delta(before, running, "nefele_process_ends_total", Ended("exited")));
            Assert.Equal(1, Delta(before, running, "nefele_process_ends_total", Ended("crashed")));
            Assert.Equal(0, SumDelta(before, running, "nefele_placement_rejections_total"));

            // The sleeper alone holds the node's resources: a tenth of a core and 16 MiB.
            Assert.Equal(1, Delta(before, running, "nefele_node_processes", OnThisNode));
            Assert.Equal(0.1, Delta(before, running, "nefele_node_cpu_reserved", OnThisNode), 6);
            Assert.Equal(16 * Mi, Delta(before, running, "nefele_node_memory_reserved_bytes", OnThisNode));

            // A spawn no node can hold is one rejection, by its error code, and no start.
            var refused = await Assert.ThrowsAsync<NefeleException>(() => tenant.SpawnAsync(new ProcessSpec { Path = "/bin/true", MemoryBytes = 900L << 30 }));
            var rejected = await ScrapeAsync();
            Assert.Equal(1, Delta(running, rejected, "nefele_placement_rejections_total", ("nefele_reason", refused.Code)));
            Assert.Equal(1, SumDelta(running, rejected, "nefele_placement_rejections_total"));
            Assert.Equal(0, Delta(running, rejected, "nefele_process_starts_total", OfTenant, OnThisNode));
            Assert.Equal(0, Delta(running, rejected, "nefele_process_spawn_duration_seconds_count"));

            await tenant.KillAsync(sleeper, Signals.SigKill);
            Assert.Equal(Signals.SigKill, (await tenant.WaitAsync(sleeper).WaitAsync(Bound)).Signal);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, ok, failing, sleeper);
        }

        // The killed sleeper is the second crash, and its reservation is given back.
        var after = await ScrapeUntilAsync(m => Delta(before, m, "nefele_process_ends_total", Ended("crashed")) >= 2
            && Delta(before, m, "nefele_node_processes", OnThisNode) == 0, "the sleeper's end counted and its reservation released");
        Assert.Equal(2, Delta(before, after, "nefele_process_ends_total", Ended("crashed")));
        Assert.Equal(1, Delta(before, after, "nefele_process_ends_total", Ended("exited")));
        Assert.Equal(3, Delta(before, after, "nefele_process_starts_total", OfTenant, OnThisNode));
        Assert.Equal(0, Delta(before, after, "nefele_node_cpu_reserved", OnThisNode), 6);
        Assert.Equal(0, Delta(before, after, "nefele_node_memory_reserved_bytes", OnThisNode));
    }

    [Fact]
    public async Task Scrape_is_valid_text_exposition_with_the_documented_families_and_types()
    {
        var tenant = await Node.SdkAsync();
        var npid = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sh", Args = ["-c", "exit 0"] });
        await tenant.WaitAsync(npid).WaitAsync(Bound);
        await Cleanup.KillAsync(tenant, npid);

        using var response = await Node.Http.GetAsync("/metrics").WaitAsync(Bound);
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}");

        // The text format's media type and version (an exporter may add parameters, e.g. escaping).
        var contentType = response.Content.Headers.ContentType;
        Assert.Equal("text/plain", contentType?.MediaType);
        Assert.Contains(contentType!.Parameters, p => p.Name == "version" && p.Value == "0.0.4");

        // Parse throws on anything the format does not allow.
        var metrics = Exposition.Parse(await response.Content.ReadAsStringAsync());

        // A counter's TYPE line names the family with or without _total, depending on the exporter.
        Assert.Equal("counter", metrics.TypeOf.GetValueOrDefault("nefele_process_starts_total") ?? metrics.TypeOf.GetValueOrDefault("nefele_process_starts"));
        Assert.Equal("histogram", metrics.TypeOf["nefele_process_spawn_duration_seconds"]);
        Assert.Equal("histogram", metrics.TypeOf["nefele_placement_decision_duration_seconds"]);
        Assert.Equal("gauge", metrics.TypeOf["nefele_node_processes"]);
        Assert.Equal(1, metrics.Value("nefele_node_hostd_attached", OnThisNode));
        Assert.True(metrics.Value("nefele_process_spawn_duration_seconds_count") >= 1);

        // The process, runtime and ASP.NET Core instruments, by their semantic-convention names.
        Assert.True(metrics.Value("process_memory_usage_bytes") > 1 << 20, "a .NET silo holds more than a MiB");
        Assert.True(metrics.Samples.Where(s => s.Name == "process_cpu_time_seconds_total").Sum(s => s.Value) > 0);
        Assert.Contains(metrics.Samples, s => s.Name == "http_server_request_duration_seconds_count" && s.Labels.GetValueOrDefault("http_route") == "/healthz");
        Assert.Contains(metrics.Samples, s => s.Name.StartsWith("dotnet_gc_", StringComparison.Ordinal));
        Assert.Contains(metrics.Samples, s => s.Name.StartsWith("orleans_", StringComparison.Ordinal));

        // The resource names the node, the cluster and the role.
        var target = Assert.Single(metrics.Samples, s => s.Name == "target_info");
        Assert.Equal("nefele-silo", target.Labels["service_name"]);
        Assert.Equal(Node.Name, target.Labels["nefele_node_name"]);
        Assert.Equal("silo", target.Labels["nefele_role"]);
        Assert.True(target.Labels.ContainsKey("nefele_cluster_id"));

        // The histogram's buckets span what the README documents: 0.5 ms to 10 s.
        var bounds = metrics.Samples.Where(s => s.Name == "nefele_process_spawn_duration_seconds_bucket").Select(s => s.Labels["le"]).ToList();
        Assert.Contains("0.0005", bounds);
        Assert.Contains("10", bounds);
    }

    [Fact]
    public async Task OpenApi_document_lists_the_scrape()
    {
        using var document = System.Text.Json.JsonDocument.Parse(await Node.Http.GetStringAsync("/openapi/v1.json").WaitAsync(Bound));
        var get = document.RootElement.GetProperty("paths").GetProperty("/metrics").GetProperty("get");
        Assert.Equal("metrics", get.GetProperty("operationId").GetString());
        Assert.Equal("telemetry", get.GetProperty("tags")[0].GetString());
    }

    [Theory]
    [InlineData("a 1", "the last line does not end")]
    [InlineData("a{b=\"c\"} 1\na{b=\"c\"} 2\n", "appears twice")]
    [InlineData("a 1\nb 1\na{x=\"y\"} 1\n", "not grouped")]
    [InlineData("a 1\n# TYPE a counter\n", "after its samples")]
    [InlineData("# TYPE a counter\n# TYPE a counter\n", "twice")]
    [InlineData("# TYPE a widget\n", "not one of")]
    [InlineData("a{b=\"\\t\"} 1\n", "escape")]
    [InlineData("a{__b=\"c\"} 1\n", "reserved")]
    [InlineData("a one\n", "not a float")]
    [InlineData("a 1 soon\n", "timestamp")]
    [InlineData("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n", "cumulative")]
    [InlineData("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_count 1\n", "+Inf")]
    [InlineData("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 1\n", "differs")]
    [InlineData("# TYPE c counter\nc -1\n", "counter")]
    public void The_reader_refuses_what_the_format_does_not_allow(string text, string complaint)
    {
        var e = Assert.Throws<FormatException>(() => Exposition.Parse(text));
        Assert.Contains(complaint, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_reader_accepts_what_the_format_allows()
    {
        const string text = "# a comment\n# HELP x_total Said \\\\ with \\n escapes\n# TYPE x_total counter\nx_total{a=\"q\\\"uote\",b=\"2\",} 3 1700000000000\n\n  y\t+Inf\nz NaN\n";
        var metrics = Exposition.Parse(text);
        Assert.Equal(3, metrics.Value("x_total", ("a", "q\"uote"), ("b", "2")));
        Assert.Equal(double.PositiveInfinity, metrics.Value("y"));
        Assert.True(double.IsNaN(metrics.Value("z")));
        Assert.Equal(0, metrics.ValueOrZero("never_recorded"));
    }

    private static (string, string)[] Ended(string how) => [("nefele_process_end", how), OfTenant];

    private static double Delta(Exposition before, Exposition after, string name, params (string, string)[] labels) =>
        after.ValueOrZero(name, labels) - before.ValueOrZero(name, labels);

    /// <summary>The change of a family summed over all its series (e.g. every reason).</summary>
    private static double SumDelta(Exposition before, Exposition after, string name) =>
        after.Samples.Where(s => s.Name == name).Sum(s => s.Value) - before.Samples.Where(s => s.Name == name).Sum(s => s.Value);

    private async Task<Exposition> ScrapeAsync()
    {
        using var response = await Node.Http.GetAsync("/metrics").WaitAsync(Bound);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {body}");
        return Exposition.Parse(body);
    }

    private async Task<Exposition> ScrapeUntilAsync(Func<Exposition, bool> condition, string what)
    {
        Exposition? last = null;
        await Eventually.Until(async () => condition(last = await ScrapeAsync()), Bound, what);
        return last!;
    }
}
