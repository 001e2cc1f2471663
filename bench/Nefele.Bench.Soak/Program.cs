using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Nefele.Bench.Soak;

// nefele-bench-soak --api URL --silo-pid P --hostd-pid P [--redis-port N] [--log-dir DIR]
//   [--minutes 30] [--clients 6] [--tasks 5] [--echo 1] [--sample-seconds 15] [--warmup-minutes 5]
//   [--retention-count N --retention-age hh:mm:ss] --out FILE       (NEFELE_TOKEN: an admin key)
// Spawns short /bin/true tasks through REST from concurrent clients as fast as the node takes
// them, and samples the node's memory and descriptors; flat after warm-up is the goal.
SoakOptions options;
try
{
    options = SoakOptions.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine($"nefele-bench-soak: {e.Message}");
    return 2;
}

const string Tenant = "soak";
using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = options.Clients + 2 })
{
    BaseAddress = new Uri(options.Api),
    Timeout = TimeSpan.FromSeconds(60),
};
http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.Token);

using (var created = await http.PostAsync("/v1/tenants", Json(new JsonObject { ["name"] = Tenant })))
{
    if (!created.IsSuccessStatusCode && created.StatusCode != HttpStatusCode.Conflict)
    {
        Console.Error.WriteLine($"nefele-bench-soak: creating tenant {Tenant}: {(int)created.StatusCode} {await created.Content.ReadAsStringAsync()}");
        return 1;
    }
}

var spawnBody = new JsonObject
{
    ["tasks"] = new JsonArray(options.Echo
        ? new JsonObject { ["path"] = "/bin/echo", ["args"] = new JsonArray("soak") }
        : new JsonObject { ["path"] = "/bin/true" }),
    ["count"] = options.TasksPerRequest,
}.ToJsonString();

long spawned = 0, requests = 0, errors = 0, throttled = 0;
var firstErrors = new List<string>();
var started = Stopwatch.GetTimestamp();
var duration = TimeSpan.FromMinutes(options.Minutes);
using var stop = new CancellationTokenSource(duration);

async Task ClientAsync()
{
    while (!stop.IsCancellationRequested)
    {
        try
        {
            using var content = new StringContent(spawnBody, Encoding.UTF8, "application/json");
            using var response = await http.PostAsync($"/v1/tenants/{Tenant}/spawn", content, stop.Token);
            var text = await response.Content.ReadAsStringAsync(stop.Token);
            if (response.IsSuccessStatusCode)
            {
                var npids = JsonNode.Parse(text)?["npids"]?.AsArray().Count ?? 0;
                Interlocked.Add(ref spawned, npids);
                Interlocked.Increment(ref requests);
            }
            else if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Interlocked.Increment(ref throttled);
                await Task.Delay(TimeSpan.FromMilliseconds(50), stop.Token);
            }
            else
            {
                Failed($"{(int)response.StatusCode} {text}");
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            Failed(e.Message);
        }
    }
}

void Failed(string what)
{
    Interlocked.Increment(ref errors);
    lock (firstErrors)
    {
        if (firstErrors.Count < 10)
        {
            firstErrors.Add(what);
        }
    }
}

var samples = new List<Sample>();
async Task SampleLoopAsync()
{
    long lastSpawned = 0;
    var lastAt = Stopwatch.GetTimestamp();
    using var timer = new PeriodicTimer(options.SampleEvery);
    while (true)
    {
        var more = await timer.WaitForNextTickAsync(CancellationToken.None) && !stop.IsCancellationRequested;
        var now = Stopwatch.GetTimestamp();
        var total = Interlocked.Read(ref spawned);
        var heap = await ManagedHeapAsync();
        var sample = new Sample
        {
            Seconds = Math.Round(Stopwatch.GetElapsedTime(started, now).TotalSeconds, 1),
            Processes = total,
            ProcessesPerSecond = Math.Round((total - lastSpawned) / Stopwatch.GetElapsedTime(lastAt, now).TotalSeconds, 1),
            SiloRssBytes = Proc.RssBytes(options.SiloPid),
            HostdRssBytes = Proc.RssBytes(options.HostdPid),
            SiloFds = Proc.OpenDescriptors(options.SiloPid),
            HostdFds = Proc.OpenDescriptors(options.HostdPid),
            SiloManagedHeapBytes = heap.Now,
            SiloHeapAfterFullGcBytes = heap.AfterFullGc,
            RedisUsedMemoryBytes = options.RedisPort is { } port ? await Redis.InfoFieldAsync(port, "memory", "used_memory") : null,
            RedisKeys = options.RedisPort is { } p ? await Redis.KeysAsync(p) : null,
            LogFiles = options.LogDir is { } dir && Directory.Exists(dir) ? Directory.GetFiles(dir).Length : null,
        };
        (lastSpawned, lastAt) = (total, now);
        samples.Add(sample);
        Console.WriteLine(
            string.Create(CultureInfo.InvariantCulture, $"{sample.Seconds,7:0}s {sample.ProcessesPerSecond,7:0.0}/s silo {sample.SiloRssBytes / 1e6,7:0.0} MB rss {sample.SiloManagedHeapBytes / 1e6,7:0.0} MB heap {sample.SiloFds,5} fds  hostd {sample.HostdRssBytes / 1e6,6:0.0} MB {sample.HostdFds,5} fds")
            + (sample.RedisUsedMemoryBytes is { } r ? string.Create(CultureInfo.InvariantCulture, $"  redis {r / 1e6:0.0} MB {sample.RedisKeys} keys") : string.Empty)
            + (sample.LogFiles is { } l ? string.Create(CultureInfo.InvariantCulture, $"  logs {l}") : string.Empty));
        if (!more)
        {
            return;
        }
    }
}

async Task<(long? Now, long? AfterFullGc)> ManagedHeapAsync()
{
    try
    {
        // The runtime's dotnet.gc.last_collection.heap.size, by generation: all of them is the heap
        // after the last collection; gen2, loh and poh are what survives collections (long-lived).
        const string Name = "dotnet_gc_last_collection_heap_size_bytes";
        var text = await http.GetStringAsync("/metrics");
        var byGeneration = text.Split('\n')
            .Where(l => l.StartsWith(Name + "{", StringComparison.Ordinal))
            .Select(l => (Generation: System.Text.RegularExpressions.Regex.Match(l, "gc_heap_generation=\"([a-z0-9]+)\"").Groups[1].Value,
                Bytes: (long)double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture)))
            .ToList();
        return byGeneration.Count == 0
            ? (null, null)
            : (byGeneration.Sum(g => g.Bytes), byGeneration.Where(g => g.Generation is "gen2" or "loh" or "poh").Sum(g => g.Bytes));
    }
    catch (HttpRequestException)
    {
        return (null, null);
    }
}

var sampling = SampleLoopAsync();
await Task.WhenAll(Enumerable.Range(0, options.Clients).Select(_ => Task.Run(ClientAsync)));
await sampling;
var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;

var steady = samples.Where(s => s.Seconds >= options.WarmupMinutes * 60).ToList();
var report = new JsonObject
{
    ["bench"] = "soak",
    ["at"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
    ["storage"] = options.RedisPort is null ? "embedded" : "redis",
    ["minutes"] = options.Minutes,
    ["clients"] = options.Clients,
    ["tasks_per_request"] = options.TasksPerRequest,
    ["task"] = options.Echo ? "/bin/echo soak" : "/bin/true",
    ["retention"] = new JsonObject { ["count"] = options.RetentionCount, ["age_seconds"] = options.RetentionAge.TotalSeconds },
    ["warmup_minutes"] = options.WarmupMinutes,
    ["sample_seconds"] = options.SampleEvery.TotalSeconds,
    ["processes"] = spawned,
    ["requests"] = requests,
    ["errors"] = errors,
    ["throttled"] = throttled,
    ["first_errors"] = new JsonArray(firstErrors.Select(e => (JsonNode)e).ToArray()),
    ["processes_per_second"] = Math.Round(spawned / elapsed, 1),
    ["steady_processes_per_second"] = steady.Count > 0 ? Math.Round(steady.Average(s => s.ProcessesPerSecond), 1) : null,
    ["load_average"] = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : null,
    ["flatness"] = Flatness.Of(steady, new (string, Func<Sample, double?>)[]
    {
        ("silo_rss_bytes", s => s.SiloRssBytes),
        ("silo_managed_heap_bytes", s => s.SiloManagedHeapBytes),
        ("silo_heap_after_full_gc_bytes", s => s.SiloHeapAfterFullGcBytes),
        ("silo_fds", s => s.SiloFds),
        ("hostd_rss_bytes", s => s.HostdRssBytes),
        ("hostd_fds", s => s.HostdFds),
        ("redis_used_memory_bytes", s => s.RedisUsedMemoryBytes),
        ("redis_keys", s => s.RedisKeys),
        ("log_files", s => s.LogFiles),
    }),
    ["samples"] = JsonSerializer.SerializeToNode(samples, SampleJson.Options),
};
await File.WriteAllTextAsync(options.Out, report.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{spawned} processes in {elapsed:0} s ({spawned / elapsed:0.0}/s), {errors} errors; {options.Out}"));
Console.WriteLine(report["flatness"]!.ToJsonString());
return errors == 0 ? 0 : 1;

static StringContent Json(JsonObject body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");
