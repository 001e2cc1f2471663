using Nefele.Client;
using Nefele.Errors;
using Nefele.Processes;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>
/// GET /metrics: the Prometheus scrape of a node's silo. Read with <see cref="Exposition"/>, a strict
/// reader of the text format written from its specification; asserted by metric names, labels and
/// values (what a scraper sees), so the exporter behind it may change.
/// </summary>
public sealed class MetricsTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private const long Mi = 1L << 20;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private NodeUnderTest Node => fixture.Node;

    private (string, string) OnThisNode => ("node", Node.Name);

    [Fact]
    public async Task Counters_and_gauges_move_by_exactly_what_the_test_did()
    {
        var tenant = await Node.SdkAsync("metrics-counts");
        var before = await ScrapeAsync();

        // One process that exits 0, one that exits 3, and one that runs with a reservation.
        var ok = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sh", Args = ["-c", "exit 0"] });
        var failing = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sh", Args = ["-c", "exit 3"] });
        var sleeper = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sleep", Args = ["300"], CpuMillis = 100, MemoryBytes = 16 * Mi });
        try
        {
            Assert.Equal(0, (await tenant.WaitAsync(ok).WaitAsync(Bound)).ExitCode);
            Assert.Equal(3, (await tenant.WaitAsync(failing).WaitAsync(Bound)).ExitCode);

            // Ends are counted as they are recorded, which may trail the wait.
            var running = await ScrapeUntilAsync(m => Delta(before, m, "nefele_process_ends_total", ("nefele_process_end", "crashed")) >= 1
                && Delta(before, m, "nefele_process_ends_total", ("nefele_process_end", "exited")) >= 1, "both ends counted");

            Assert.Equal(3, Delta(before, running, "nefele_process_starts_total"));
            Assert.Equal(3, Delta(before, running, "nefele_process_spawn_duration_seconds_count"));
            Assert.Equal(3, Delta(before, running, "nefele_process_spawn_duration_seconds_bucket", ("le", "+Inf")));
            Assert.True(Delta(before, running, "nefele_process_spawn_duration_seconds_sum") > 0);
            Assert.Equal(1, Delta(before, running, "nefele_process_ends_total", ("nefele_process_end", "exited")));
            Assert.Equal(1, Delta(before, running, "nefele_process_ends_total", ("nefele_process_end", "crashed")));
            Assert.Equal(0, Delta(before, running, "nefele_placement_rejections_total"));

            // The sleeper alone holds the node's resources.
            Assert.Equal(1, Delta(before, running, "nefele_node_processes", OnThisNode));
            Assert.Equal(100, Delta(before, running, "nefele_node_cpu_reserved_millis", OnThisNode));
            Assert.Equal(16 * Mi, Delta(before, running, "nefele_node_memory_reserved_bytes", OnThisNode));

            // A spawn no node can hold is one rejection and no start.
            await Assert.ThrowsAsync<NefeleException>(() => tenant.SpawnAsync(new ProcessSpec { Path = "/bin/true", MemoryBytes = 900L << 30 }));
            var rejected = await ScrapeAsync();
            Assert.Equal(1, Delta(running, rejected, "nefele_placement_rejections_total"));
            Assert.Equal(0, Delta(running, rejected, "nefele_process_starts_total"));
            Assert.Equal(0, Delta(running, rejected, "nefele_process_spawn_duration_seconds_count"));

            await tenant.KillAsync(sleeper, Signals.SigKill);
            Assert.Equal(Signals.SigKill, (await tenant.WaitAsync(sleeper).WaitAsync(Bound)).Signal);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, ok, failing, sleeper);
        }

        // The killed sleeper is the second crash, and its reservation is given back.
        var after = await ScrapeUntilAsync(m => Delta(before, m, "nefele_process_ends_total", ("nefele_process_end", "crashed")) >= 2
            && Delta(before, m, "nefele_node_processes", OnThisNode) == 0, "the sleeper's end counted and its reservation released");
        Assert.Equal(2, Delta(before, after, "nefele_process_ends_total", ("nefele_process_end", "crashed")));
        Assert.Equal(1, Delta(before, after, "nefele_process_ends_total", ("nefele_process_end", "exited")));
        Assert.Equal(3, Delta(before, after, "nefele_process_starts_total"));
        Assert.Equal(0, Delta(before, after, "nefele_node_cpu_reserved_millis", OnThisNode));
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
        Assert.Equal("gauge", metrics.TypeOf["nefele_node_processes"]);
        Assert.Equal(1, metrics.Value("nefele_node_hostd_attached", OnThisNode));
        Assert.True(metrics.Value("nefele_process_spawn_duration_seconds_count") >= 1);
        Assert.True(metrics.Value("process_resident_memory_bytes") > 1 << 20, "a .NET silo holds more than a MiB");
        Assert.True(metrics.Value("process_cpu_seconds_total") > 0);

        // The histogram's buckets span what the README documents: 0.5 ms to 10 s.
        var bounds = metrics.Samples.Where(s => s.Name == "nefele_process_spawn_duration_seconds_bucket").Select(s => s.Labels["le"]).ToList();
        Assert.Contains("0.0005", bounds);
        Assert.Contains("10", bounds);
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

    private static double Delta(Exposition before, Exposition after, string name, params (string, string)[] labels) =>
        after.ValueOrZero(name, labels) - before.ValueOrZero(name, labels);

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
