using System.Globalization;
using System.Text.RegularExpressions;
using Nefele.Processes;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>GET /metrics: the Prometheus scrape of a node's silo (text exposition format 0.0.4).</summary>
public sealed partial class MetricsTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private const string ContentType = "text/plain; version=0.0.4; charset=utf-8";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private static readonly string[] Types = ["counter", "gauge", "histogram", "summary", "untyped"];
    private static readonly string[] HistogramSuffixes = ["_bucket", "_sum", "_count"];

    private NodeUnderTest Node => fixture.Node;

    [Fact]
    public async Task Scrape_after_a_process_ran_has_its_start_and_spawn_latency()
    {
        var tenant = await Node.SdkAsync();
        var npid = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sh", Args = ["-c", "exit 0"] });
        try
        {
            var end = await tenant.WaitAsync(npid).WaitAsync(Bound);
            Assert.Equal(ProcessState.Exited, end.State);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npid);
        }

        var text = await ScrapeAsync();
        var samples = Parse(text);

        Assert.True(Value(samples, "nefele_process_starts_total", "") >= 1, text);
        var spawned = Value(samples, "nefele_process_spawn_duration_seconds_count", "");
        Assert.True(spawned >= 1, text);
        Assert.Equal(spawned, Value(samples, "nefele_process_spawn_duration_seconds_bucket", "le=\"+Inf\""));
        Assert.True(Value(samples, "nefele_process_spawn_duration_seconds_sum", "") > 0, text);
        Assert.Contains("# TYPE nefele_process_starts_total counter\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE nefele_process_spawn_duration_seconds histogram\n", text, StringComparison.Ordinal);
        Assert.Contains("# HELP nefele_process_spawn_duration_seconds ", text, StringComparison.Ordinal);

        // Buckets are cumulative: never decreasing with le, the last one (+Inf) equal to the count.
        var buckets = samples.Where(s => s.Name == "nefele_process_spawn_duration_seconds_bucket").ToList();
        Assert.True(buckets.Count > 2, text);
        for (var i = 1; i < buckets.Count; i++)
        {
            Assert.True(buckets[i].Value >= buckets[i - 1].Value, text);
        }

        // The node's own gauges and the silo process's.
        var node = $"node=\"{Node.Name}\"";
        Assert.Equal(1, Value(samples, "nefele_node_hostd_attached", node));
        Assert.True(Value(samples, "nefele_node_processes", node) >= 0, text);
        Assert.True(Value(samples, "process_resident_memory_bytes", "") > 0, text);
        Assert.True(Value(samples, "process_cpu_seconds_total", "") > 0, text);

        // The end is counted by how it ended (recorded as the end is, so it may trail the wait).
        await Eventually.Until(
            async () => Parse(await ScrapeAsync()).Any(s => s.Name == "nefele_process_ends_total" && s.Labels == "nefele_process_end=\"exited\"" && s.Value >= 1),
            Bound, "nefele_process_ends_total{nefele_process_end=\"exited\"} >= 1");
    }

    [Fact]
    public async Task Every_line_follows_the_exposition_grammar()
    {
        var tenant = await Node.SdkAsync();
        var npid = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sh", Args = ["-c", "exit 3"] });
        await Cleanup.KillAsync(tenant, npid);

        var text = await ScrapeAsync();
        Assert.EndsWith("\n", text, StringComparison.Ordinal);

        var typed = new Dictionary<string, string>(StringComparer.Ordinal);
        var helped = new HashSet<string>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in text.TrimEnd('\n').Split('\n'))
        {
            if (line.StartsWith('#'))
            {
                var comment = CommentLine().Match(line);
                Assert.True(comment.Success, $"comment line: {line}");
                var name = comment.Groups["name"].Value;
                if (comment.Groups["kind"].Value == "TYPE")
                {
                    Assert.True(typed.TryAdd(name, comment.Groups["rest"].Value), $"TYPE {name} twice");
                    Assert.Contains(comment.Groups["rest"].Value, Types);
                }
                else
                {
                    Assert.True(helped.Add(name), $"HELP {name} twice");
                }

                continue;
            }

            var sample = SampleLine().Match(line);
            Assert.True(sample.Success, $"sample line: {line}");
            Assert.True(seen.Add(sample.Groups["name"].Value + "{" + sample.Groups["labels"].Value + "}"), $"series twice: {line}");

            // Each sample belongs to a family declared by a TYPE line before it.
            var family = Family(sample.Groups["name"].Value, typed);
            Assert.True(family is not null, $"no TYPE before: {line}");
        }

        Assert.NotEmpty(seen);
    }

    private async Task<string> ScrapeAsync()
    {
        using var response = await Node.Http.GetAsync("/metrics").WaitAsync(Bound);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {body}");
        Assert.Equal(ContentType, response.Content.Headers.ContentType?.ToString());
        return body;
    }

    /// <summary>The TYPE-declared family a sample name belongs to (a histogram's name without its suffix).</summary>
    private static string? Family(string sample, Dictionary<string, string> typed)
    {
        if (typed.ContainsKey(sample))
        {
            return sample;
        }

        foreach (var suffix in HistogramSuffixes)
        {
            if (sample.EndsWith(suffix, StringComparison.Ordinal)
                && typed.TryGetValue(sample[..^suffix.Length], out var type) && type is "histogram" or "summary")
            {
                return sample[..^suffix.Length];
            }
        }

        return null;
    }

    private static List<(string Name, string Labels, double Value)> Parse(string text) =>
        text.Split('\n')
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => SampleLine().Match(l))
            .Where(m => m.Success)
            .Select(m => (m.Groups["name"].Value, m.Groups["labels"].Value, ParseValue(m.Groups["value"].Value)))
            .ToList();

    private static double Value(List<(string Name, string Labels, double Value)> samples, string name, string labels)
    {
        var match = samples.Where(s => s.Name == name && s.Labels == labels).ToList();
        Assert.True(match.Count == 1, $"{name}{{{labels}}}: {match.Count} samples among {string.Join(", ", samples.Select(s => s.Name).Distinct())}");
        return match[0].Value;
    }

    private static double ParseValue(string value) => value switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture),
    };

    [GeneratedRegex("""^# (?<kind>HELP|TYPE) (?<name>[a-zA-Z_:][a-zA-Z0-9_:]*) (?<rest>(?:[^\\\n]|\\[\\n])*)$""")]
    private static partial Regex CommentLine();

    // name{label="value",...} value [timestamp]; values escape only \\, \" and \n.
    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?<labels>(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*)?)\})? (?<value>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]Inf|NaN)(?: -?[0-9]+)?$""")]
    private static partial Regex SampleLine();
}
