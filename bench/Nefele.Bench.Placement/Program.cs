using System.Globalization;
using System.Net;
using System.Text.Json;
using Nefele.Bench.Placement;
using Nefele.Client;
using Nefele.Placement;
using Nefele.Processes;
using Orleans.Configuration;

// nefele-bench-placement single  --gateway-port P --api URL --dir DIR [--quick] [--stress-pid-file F] [--phases a,b]
//   (--phases: only these of scheduling, cpu_load, throughput_single, hollow; all by default)
// nefele-bench-placement cluster --gateways IP:PORT,... --cluster-id ID --tls-dir DIR --dir DIR [--quick]
//   (--tls-dir: the cluster's ca.pem and a program certificate client.pem/client.key, as scripts/cluster makes them)
// nefele-bench-placement report  --dir DIR --out FILE [--quick]
// The scheduling experiments of the Nefele paper on this machine; each phase writes
// DIR/<phase>.json, and report merges them into one document and prints the table.
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: nefele-bench-placement single|cluster|report ...");
    return 2;
}

var options = new Args(args.Skip(1));
var quick = options.Flag("quick");
var dir = options.Get("dir");
Directory.CreateDirectory(dir);
const string TenantName = "bench-placement";
const int ClusterWarmUpRounds = 40;
var twoSleepers = new ProcessSpec { Path = "/bin/sleep", Args = ["2"] };
double[] rates = quick ? [20, 120] : [10, 20, 40, 80, 120, 160, 200, 300];
var step = TimeSpan.FromSeconds(quick ? 2 : 6);
var failures = 0;
var phases = options.Get("phases", string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);

switch (args[0])
{
    case "single":
        await RunSingleAsync();
        break;
    case "cluster":
        await RunClusterAsync();
        break;
    case "report":
        return Report.Write(dir, options.Get("out"), quick);
    default:
        Console.Error.WriteLine($"unknown subcommand {args[0]}");
        return 2;
}

return failures == 0 ? 0 : 1;

async Task RunSingleAsync()
{
    await using var nefele = await NefeleConnection.ConnectAsync(new NefeleClientOptions { Gateways = { $"127.0.0.1:{options.Int("gateway-port", NefeleDefaults.GatewayPort)}" } });
    await nefele.Admin.EnsureTenantAsync(TenantName);
    var tenant = nefele.Tenant(TenantName);
    using var api = new HttpClient { BaseAddress = new Uri(options.Get("api")), Timeout = TimeSpan.FromMinutes(5) };
    if (Nefele.Auth.CredentialSources.Find() is { } key)
    {
        api.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
    }

    int n = quick ? 5 : 25, warmup = quick ? 2 : 5;

    await PhaseAsync("scheduling", async () =>
    {
        Console.WriteLine($"[1] scheduling time vs tasks per request (single node, n={n} each)");
        var points = new List<object>();
        foreach (var k in Experiments.TasksPerRequest)
        {
            var l = await Scheduling.MeasureAsync(tenant, k, n, warmup);
            Console.WriteLine(Inv($"    {k,3} tasks/request: p50 {l.P50Ms,8:0.0} ms  p99 {l.P99Ms,8:0.0} ms"));
            points.Add(new { tasks = k, latency = l.Json() });
        }

        return new { node = "single embedded", command = "/bin/sleep 20", points };
    });

    await PhaseAsync("cpu_load", async () =>
    {
        Console.WriteLine($"[2] scheduling time (10 tasks/request) vs background CPU load (stress-ng, n={n} each)");
        var points = new List<object>();
        foreach (var load in Experiments.CpuLoads)
        {
            await using var stress = load == 0 ? null : await CpuLoad.StartAsync(load, TimeSpan.FromMinutes(quick ? 1 : 3), options.Get("stress-pid-file", string.Empty) is { Length: > 0 } f ? f : null);
            var l = await Scheduling.MeasureAsync(tenant, 10, n, warmup);
            Console.WriteLine(Inv($"    load {load,3} %: p50 {l.P50Ms,8:0.0} ms  p99 {l.P99Ms,8:0.0} ms"));
            points.Add(new { cpu_load_pct = load, latency = l.Json() });
        }

        return new { tasks_per_request = 10, stress = $"stress-ng --cpu {Environment.ProcessorCount} --cpu-load P", points };
    });

    await PhaseAsync("throughput_single", async () =>
    {
        Console.WriteLine("[3] one admission node: Poisson arrivals of 2-task requests (/bin/sleep 2)");
        var ramp = await Ramp.RunAsync(rates, step, _ => tenant.SubmitAsync(new SpawnRequest { Tasks = [twoSleepers], Count = 2 }), TimeSpan.FromSeconds(2.5), s => PrintStep(s, null));
        PrintRamp(ramp);
        var left = await Scheduling.KillLeftoversAsync(tenant);
        return new { tasks_per_request = 2, command = "/bin/sleep 2", ramp = ramp.Json(), leftovers_killed = left };
    });

    await PhaseAsync("hollow", async () =>
    {
        const int concurrency = 16, tasks = 10;
        Console.WriteLine($"[5] hollow nodes: closed loop, {concurrency} requests in flight, {tasks} tasks each (label affinity to hollow nodes only)");
        var points = new List<object>();
        var have = 0;
        string? error = null;
        try
        {
            foreach (var nodes in Experiments.HollowNodes)
            {
                have += await Hollow.AddAsync(api, nodes - have);

                // The silo's directory copy is refreshed every few seconds; the warm-up covers it.
                // A tenant per point, so one point's index does not weigh on the next. The tasks
                // stay on their hollow nodes (ending tens of thousands would outlast the run);
                // removing the nodes at the end ends them.
                await nefele.Admin.EnsureTenantAsync($"{TenantName}-hollow-{have}");
                var hollowTenant = nefele.Tenant($"{TenantName}-hollow-{have}");
                var p = await Hollow.ClosedLoopAsync(hollowTenant, have, concurrency, tasks, TimeSpan.FromSeconds(quick ? 2 : 3), TimeSpan.FromSeconds(quick ? 2 : 6));
                Console.WriteLine(Inv($"    {have,5} hollow nodes: {p.TasksPerSecond,8:0} tasks/s  ({p.Requests / p.DurationS:0} req/s)  p50 {p.Latency.P50Ms,7:0.0} ms  p99 {p.Latency.P99Ms,7:0.0} ms  on hollow {p.OnHollow}/{p.Checked}; {p.Placed} placed in all{(p.FirstError is null ? string.Empty : "  error: " + p.FirstError)}"));
                points.Add(p.Json());
            }
        }
        catch (Exception e)
        {
            error = $"{e.GetType().Name}: {e.Message}";
            Console.WriteLine($"    hollow failed: {error}");
        }

        // Removing the nodes ends every task still on them (as Lost); its time is a figure too.
        object? removal;
        var removeClock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            var removed = await Hollow.RemoveAsync(api);
            removal = new { removed, seconds = Math.Round(removeClock.Elapsed.TotalSeconds, 2) };
            Console.WriteLine(Inv($"    removed {removed} hollow nodes in {removeClock.Elapsed.TotalSeconds:0.0} s"));
        }
        catch (Exception e)
        {
            removal = new { error = $"{e.GetType().Name}: {e.Message}", seconds = Math.Round(removeClock.Elapsed.TotalSeconds, 2) };
            Console.WriteLine(Inv($"    removing the hollow nodes failed after {removeClock.Elapsed.TotalSeconds:0.0} s: {e.GetType().Name}: {e.Message}"));
        }

        if (error is not null)
        {
            failures++;
        }

        return new { error, removal, node_cpu_millis = 32_000, node_memory_bytes = 128L << 30, task = new { cpu_millis = Hollow.Task.CpuMillis, memory_bytes = Hollow.Task.MemoryBytes }, points };
    });
}

async Task RunClusterAsync()
{
    var id = options.Get("cluster-id");
    var gateways = options.Get("gateways").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(IPEndPoint.Parse).ToArray();
    var tlsDir = options.Get("tls-dir");
    var tls = NefeleTls.FromPemFiles(Path.Combine(tlsDir, "ca.pem"), Path.Combine(tlsDir, "client.pem"), Path.Combine(tlsDir, "client.key"));
    var connections = new List<NefeleConnection>();
    try
    {
        foreach (var g in gateways)
        {
            connections.Add(await NefeleConnection.ConnectAsync(new NefeleClientOptions { ClusterId = id, Gateways = { g.ToString() } }.UseTls(tls)));
        }

        await connections[0].Admin.EnsureTenantAsync(TenantName);
        var tenants = connections.Select(c => c.Tenant(TenantName)).ToArray();

        // Warm every node's code paths before measuring: enough requests through each gateway that
        // the paths between silos are compiled at their final tier and every link is open, so the
        // first ramp (all gateways) does not pay for what the second (one gateway) finds done.
        for (var round = 0; round < ClusterWarmUpRounds; round++)
        {
            await Task.WhenAll(tenants.Select(async t => await Scheduling.KillAsync(t, (await t.SubmitAsync(new SpawnRequest { Tasks = [twoSleepers], Count = 2 })).Npids)));
        }

        await PhaseAsync("throughput_cluster", async () =>
        {
            Console.WriteLine($"[4] {gateways.Length}-node cluster: the same ramp through every node's gateway, then through one");
            var spreadRamp = await Ramp.RunAsync(rates, step, i => tenants[i % tenants.Length].SubmitAsync(new SpawnRequest { Tasks = [twoSleepers], Count = 2 }), TimeSpan.FromSeconds(2.5), s => PrintStep(s, $"all {tenants.Length} gateways"));
            PrintRamp(spreadRamp);
            var left = await Scheduling.KillLeftoversAsync(tenants[0]);
            var oneRamp = await Ramp.RunAsync(rates, step, _ => tenants[0].SubmitAsync(new SpawnRequest { Tasks = [twoSleepers], Count = 2 }), TimeSpan.FromSeconds(2.5), s => PrintStep(s, "one gateway"));
            PrintRamp(oneRamp);
            left += await Scheduling.KillLeftoversAsync(tenants[0]);
            return new
            {
                nodes = gateways.Length,
                gateways = gateways.Select(g => g.ToString()),
                all_gateways = spreadRamp.Json(),
                one_gateway = oneRamp.Json(),
                leftovers_killed = left,
            };
        });
    }
    finally
    {
        foreach (var c in connections)
        {
            await c.DisposeAsync();
        }
    }
}

async Task PhaseAsync(string name, Func<Task<object>> run)
{
    if (phases.Count > 0 && !phases.Contains(name))
    {
        return;
    }

    object result;
    try
    {
        result = await run();
    }
    catch (Exception e)
    {
        failures++;
        Console.WriteLine($"    {name} failed: {e.GetType().Name}: {e.Message}");
        result = new { error = $"{e.GetType().Name}: {e.Message}" };
    }

    await File.WriteAllTextAsync(Path.Combine(dir, name + ".json"), JsonSerializer.Serialize(result, Report.Json));
}

static void PrintStep(RampStep s, string? label) =>
    Console.WriteLine(Inv($"    {(label is null ? string.Empty : label + ": "),-16}{s.OfferedRps,5:0} req/s offered → {s.AchievedRps,6:0.0} achieved  p50 {s.Latency.P50Ms,8:0.0} ms  p99 {s.Latency.P99Ms,8:0.0} ms  (sent {s.Sent}, failed {s.Failed}, dropped {s.Dropped}, unfinished {s.Unfinished}){(s.FirstError is null ? string.Empty : "  error: " + s.FirstError)}"));

static void PrintRamp(RampResult r) =>
    Console.WriteLine(Inv($"    floor p50 {r.FloorP50Ms:0.0} ms; highest rate on the floor {r.MaxRateOnFloor:0} req/s; most achieved {r.MaxAchievedRps:0.0} req/s{(r.StoppedBecause is null ? string.Empty : "; stopped: " + r.StoppedBecause)}"));

static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

/// <summary>The points of the paper's experiments.</summary>
internal static class Experiments
{
    public static readonly int[] TasksPerRequest = [10, 20, 30, 40];
    public static readonly int[] CpuLoads = [0, 25, 50, 75];
    public static readonly int[] HollowNodes = [100, 1000];
}
