using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Nefele.Client;
using Nefele.Placement;
using Nefele.Processes;

namespace Nefele.Bench.Placement;

/// <summary>One closed-loop run against a set of hollow nodes.</summary>
internal sealed record HollowPoint(int Nodes, int Concurrency, int TasksPerRequest, int Requests, int Tasks, double DurationS, Latency Latency, int Checked, int OnHollow, string? FirstError)
{
    /// <summary>Every task the run placed, warm-up included (they stay on their hollow nodes until these are removed).</summary>
    public int Placed { get; init; }

    public double TasksPerSecond => Tasks / DurationS;

    public object Json() => new
    {
        nodes = Nodes,
        concurrency = Concurrency,
        tasks_per_request = TasksPerRequest,
        requests = Requests,
        tasks = Tasks,
        duration_s = Math.Round(DurationS, 2),
        tasks_per_s = Math.Round(TasksPerSecond, 1),
        requests_per_s = Math.Round(Requests / DurationS, 1),
        latency = Latency.Json(),
        checked_tasks = Checked,
        on_hollow_nodes = OnHollow,
        first_error = FirstError,
        placed_with_warmup = Placed,
    };
}

/// <summary>
/// Placement decisions at scale: hollow nodes (simulated node grains with declared capacity,
/// launches recorded, never forked) carry a label that only they have; every task asks for it
/// by label affinity, so none lands on the real node and no process is forked.
/// </summary>
internal static class Hollow
{
    public const string LabelKey = "nefele.bench";
    public const string LabelValue = "hollow";

    public static readonly ProcessSpec Task = new()
    {
        Path = "/bin/sleep",
        Args = ["20"],
        CpuMillis = 10,
        MemoryBytes = 16 << 20,
        Affinity = [$"label:{LabelKey}={LabelValue}"],
    };

    public static async Task<int> AddAsync(HttpClient api, int count)
    {
        using var response = await api.PostAsJsonAsync("/v1/hollow-nodes", new
        {
            count,
            cpuMillis = 32_000,
            memoryBytes = 128L << 30,
            labels = new Dictionary<string, string> { [LabelKey] = LabelValue },
        });
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"POST /v1/hollow-nodes: {(int)response.StatusCode} {body}");
        }

        return JsonNode.Parse(body)?["nodes"]?.AsArray().Count ?? 0;
    }

    public static async Task<int> RemoveAsync(HttpClient api)
    {
        using var response = await api.DeleteAsync("/v1/hollow-nodes");
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"DELETE /v1/hollow-nodes: {(int)response.StatusCode} {body}");
        }

        return JsonNode.Parse(body)?["removed"]?.GetValue<int>() ?? 0;
    }

    /// <summary>
    /// <paramref name="concurrency"/> loops each submit a request, await its answer, submit the
    /// next; the first <paramref name="warmup"/> is not measured.
    /// </summary>
    public static async Task<HollowPoint> ClosedLoopAsync(NefeleTenant tenant, int nodes, int concurrency, int tasksPerRequest, TimeSpan warmup, TimeSpan duration)
    {
        var latencies = new List<double>[concurrency];
        var placed = new int[concurrency];
        var sample = new List<string>();
        var all = 0;
        string? firstError = null;
        var clock = Stopwatch.StartNew();
        var measureFrom = warmup.TotalSeconds;
        var until = (warmup + duration).TotalSeconds;
        await System.Threading.Tasks.Task.WhenAll(Enumerable.Range(0, concurrency).Select(async w =>
        {
            latencies[w] = [];
            while (clock.Elapsed.TotalSeconds < until)
            {
                var begun = clock.Elapsed.TotalSeconds;
                var start = Stopwatch.GetTimestamp();
                try
                {
                    var result = await tenant.SubmitAsync(new SpawnRequest { Tasks = [Task], Count = tasksPerRequest });
                    var ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                    Interlocked.Add(ref all, result.Npids.Count);

                    if (begun >= measureFrom && clock.Elapsed.TotalSeconds <= until)
                    {
                        latencies[w].Add(ms);
                        placed[w] += result.Npids.Count;
                        if (w == 0 && sample.Count < 20)
                        {
                            sample.Add(result.Npids[0]);
                        }
                    }
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref firstError, e.GetType().Name + ": " + e.Message, null);
                    await System.Threading.Tasks.Task.Delay(10);
                }
            }
        }));

        // Only requests begun and answered inside the window count, so the window is its length.
        var onHollow = 0;
        foreach (var npid in sample)
        {
            var info = await tenant.GetAsync(npid);
            onHollow += info.Node is { } node && node.StartsWith("hollow-", StringComparison.Ordinal) ? 1 : 0;
        }

        var measured = latencies.SelectMany(l => l).ToArray();
        return new HollowPoint(nodes, concurrency, tasksPerRequest, measured.Length, placed.Sum(), duration.TotalSeconds, Latency.Of(measured), sample.Count, onHollow, firstError)
        {
            Placed = all,
        };
    }
}
