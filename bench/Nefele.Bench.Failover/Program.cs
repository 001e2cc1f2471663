// nefele-bench-failover: time from the failure of a node to every monitor of its processes being
// told Lost, on a cluster scripts/cluster runs (its NEFELE_CLUSTER_* environment is inherited).
//
//   nefele-bench-failover --cluster-script PATH --state-dir DIR --link-prefix nfo --nodes 3 --victim 2
//       --node-prefix nfo-n --api http://IP:7400 --gateways IP:PORT,... --cluster-id ID --tls-dir DIR
//       --out FILE [--trials 10] [--processes 4] [--victim-gateway IP:PORT]
//
// Node K must carry the label bench=K. The gateways and the API must not be the victim's.
// With --victim-gateway, in hard-kill trials each process also has a monitor on a second SDK
// connection whose gateways are the victim's and the first of --gateways: those whose calls went
// through the victim's gateway show how soon the SDK carries on through the other one (reported
// apart, as through_lost_gateway).
// NEFELE_TOKEN is the cluster's admin key. The clock starts at the failure itself, not at the
// script's start: a hard kill is a SIGKILL of the node's silo loop, silo and hostd by the pids in
// STATE/node<K>/*.pid (each checked against its command line), then scripts/cluster kill K
// finishes the job (the processes in its cgroups and namespace); a partition sets the node's
// link (LINKPREFIX v K) down, then scripts/cluster partition K records it.
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Nefele.Bench.Failover;
using Nefele.Client;
using Nefele.Placement;
using Nefele.Processes;
using Orleans.Configuration;
using Orleans.Hosting;

Options options;
try
{
    options = new Options(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"nefele-bench-failover: {e.Message}");
    return 2;
}

var script = options.Get("cluster-script");
var stateDir = options.Get("state-dir");
var linkPrefix = options.Get("link-prefix");
var nodes = options.Int("nodes", 3, 2, 50);
var victim = options.Int("victim", 2, 1, nodes);
var nodePrefix = options.Get("node-prefix");
var trials = options.Int("trials", 10, 1, 1000);
var processes = options.Int("processes", 4, 1, 100);
var clusterId = options.Get("cluster-id");
var gateways = options.Get("gateways").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(IPEndPoint.Parse).ToArray();
var tlsDir = options.Get("tls-dir");
var outPath = options.Get("out");
var token = Environment.GetEnvironmentVariable("NEFELE_TOKEN") ?? throw new InvalidOperationException("NEFELE_TOKEN (the cluster's admin key) is not set");
var tenantName = "benchfailover";
var lostBound = TimeSpan.FromSeconds(60);
var rejoinBound = TimeSpan.FromSeconds(180);

using var http = new HttpClient { BaseAddress = new Uri(options.Get("api")), Timeout = Timeout.InfiniteTimeSpan };
http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
var tls = NefeleTls.FromPemFiles(Path.Combine(tlsDir, "ca.pem"), Path.Combine(tlsDir, "client.pem"), Path.Combine(tlsDir, "client.key"));
NefeleClientOptions Through(params IPEndPoint[] through)
{
    var o = new NefeleClientOptions { ClusterId = clusterId, ApiKey = token }.UseTls(tls);
    foreach (var g in through)
    {
        o.Gateways.Add(g.ToString());
    }

    return o;
}

await using var connection = await NefeleConnection.ConnectAsync(Through(gateways));
await connection.Admin.EnsureTenantAsync(tenantName);
var tenant = connection.Tenant(tenantName);
NefeleTenant? throughVictim = null;
await using var victimConnection = options.Get("victim-gateway", string.Empty) is { Length: > 0 } victimGateway
    ? await NefeleConnection.ConnectAsync(Through(IPEndPoint.Parse(victimGateway), gateways[0]))
    : null;
if (victimConnection is not null)
{
    throughVictim = victimConnection.Tenant(tenantName);
}
var sleeper = new ProcessSpec { Path = "/bin/sleep", Args = ["600"], Affinity = [$"label:bench={victim}"] };
var allNodes = Enumerable.Range(1, nodes).Select(k => nodePrefix + k).ToHashSet(StringComparer.Ordinal);

var methods = new (string Name, string Break, string Restore)[] { ("hard_kill", "kill", "start"), ("partition", "partition", "heal") };
var results = methods.ToDictionary(m => m.Name, _ => new List<Trial>(), StringComparer.Ordinal);
var loadBefore = File.ReadAllText("/proc/loadavg").Trim();
Console.WriteLine($"failover: {trials} trials each of a hard kill and a partition of node {victim} ({nodePrefix}{victim}), {processes} processes on it, "
    + $"each watched by an SDK monitor (gateways {string.Join(", ", gateways.Select(g => g.ToString()))}) and a REST monitor ({http.BaseAddress})");

await WaitForNodesAsync();
for (var i = 0; i < trials; i++)
{
    // Alternate the methods, so the machine's load drifts over both alike.
    foreach (var method in methods)
    {
        var trial = await RunTrialAsync(method.Name, method.Break, method.Restore, i + 1);
        results[method.Name].Add(trial);
        Console.WriteLine($"  {method.Name,-9} trial {i + 1,2}: all {trial.Monitors} monitors told Lost after {trial.AllToldMs:0} ms "
            + $"(first {trial.FirstToldMs:0} ms; broken at {trial.BrokenAt:HH:mm:ss.fff} UTC; the script took {trial.ScriptMs:0} ms; back in {trial.RejoinMs / 1000:0.0} s)"
            + (trial.Error is null ? string.Empty : $" — {trial.Error}"));
    }
}

var targets = new Dictionary<string, double>(StringComparer.Ordinal) { ["hard_kill"] = 3000, ["partition"] = 5000 };
var report = new Dictionary<string, object>(StringComparer.Ordinal);
var met = true;
foreach (var (name, list) in results)
{
    var ok = list.Where(t => t.Error is null).ToList();
    var all = Latency.Of(ok.Select(t => t.AllToldMs));
    var everyWithin = ok.Count == list.Count && list.Count > 0 && all.MaxMs <= targets[name];
    met &= everyWithin;
    report[name] = new
    {
        n = all.N,
        p50_ms = Latency.Round(all.P50Ms),
        p99_ms = Latency.Round(all.P99Ms),
        min_ms = Latency.Round(all.MinMs),
        max_ms = Latency.Round(all.MaxMs),
        failed_trials = list.Count - ok.Count,
        first_told = Latency.Of(ok.Select(t => t.FirstToldMs)).Json(),
        sdk_monitors = Latency.Of(ok.SelectMany(t => t.SdkMs)).Json(),
        through_lost_gateway = Latency.Of(ok.SelectMany(t => t.ThroughVictimMs)).Json(),
        rest_monitors = Latency.Of(ok.SelectMany(t => t.RestMs)).Json(),
        script = Latency.Of(list.Select(t => t.ScriptMs)).Json(),
        rejoin = Latency.Of(list.Select(t => t.RejoinMs)).Json(),
        target_max_ms = targets[name],
        every_trial_within_target = everyWithin,
        trials = list.Select(t => new { all_told_ms = Latency.Round(t.AllToldMs), first_told_ms = Latency.Round(t.FirstToldMs), script_ms = Latency.Round(t.ScriptMs), rejoin_ms = Latency.Round(t.RejoinMs), error = t.Error }),
    };
    Console.WriteLine($"{name}: n={all.N} p50 {all.P50Ms:0} ms, p99 {all.P99Ms:0} ms, max {all.MaxMs:0} ms (target: every trial ≤ {targets[name]:0} ms: {(everyWithin ? "met" : "missed")})");
}

var json = new
{
    bench = "failover",
    time = DateTime.UtcNow.ToString("o"),
    machine = new { cores = Environment.ProcessorCount, loadavg_before = loadBefore, loadavg_after = File.ReadAllText("/proc/loadavg").Trim() },
    setup = new
    {
        nodes,
        victim = nodePrefix + victim,
        processes_per_trial = processes,
        monitors_per_process = new[] { "sdk", "rest" },
        measured = "from the failure (the first SIGKILL, or the link going down) to the moment the last monitor of the victim's processes is told Lost",
        hard_kill = "SIGKILL of the node's silo loop, silo and hostd by pid, then scripts/cluster kill (every process in its cgroups and network namespace)",
        partition = "the node's veth link set down (then scripts/cluster partition records it); its processes keep running",
        through_lost_gateway = "hard kills only: monitors of a second SDK connection whose gateways are the victim's and another node's (not in the figures above): when the last was told Lost",
    },
    methods = report,
    targets_met = met,
};
Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outPath))!);
await File.WriteAllTextAsync(outPath, JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = true }) + "\n");
Console.WriteLine($"wrote {outPath}");
return 0;

async Task<Trial> RunTrialAsync(string name, string breakCommand, string restoreCommand, int number)
{
    await WaitForNodesAsync();

    // A node listed active again may not have its hostd attached yet: its spawns are refused until then.
    SpawnResult? spawned = null;
    for (var attempt = Stopwatch.StartNew(); spawned is null;)
    {
        try
        {
            spawned = await tenant.SubmitAsync(new SpawnRequest { Tasks = [sleeper], Count = processes });
        }
        catch (Nefele.Client.NefeleException e) when (e.Code == Nefele.Client.ErrorCodes.SpawnRejected && attempt.Elapsed < rejoinBound)
        {
            await Task.Delay(500);
        }
    }

    var npids = spawned.Npids;
    using var cts = new CancellationTokenSource(lostBound + TimeSpan.FromSeconds(60));
    var clock = new Stopwatch();
    var monitors = new List<Task<(string Kind, string? State, double Ms)>>();
    foreach (var npid in npids)
    {
        var sdkRunning = new TaskCompletionSource();
        monitors.Add(SdkMonitor(tenant, "sdk", npid, sdkRunning, clock, cts.Token));
        var restRunning = new TaskCompletionSource();
        monitors.Add(RestMonitor(npid, restRunning, clock, cts.Token));
        var victimRunning = new TaskCompletionSource();
        // Hard kills only: a partitioned gateway's link stays open, and the Orleans client keeps
        // sending that grain's calls to it (the SDK's poll bound, 7 s, each time).
        if (throughVictim is not null && name == "hard_kill")
        {
            monitors.Add(SdkMonitor(throughVictim, "via_victim", npid, victimRunning, clock, cts.Token));
        }
        else
        {
            victimRunning.SetResult();
        }

        await Task.WhenAll(sdkRunning.Task, restRunning.Task, victimRunning.Task).WaitAsync(TimeSpan.FromSeconds(60));
    }

    string? error = null;
    var brokenAt = DateTime.UtcNow;
    clock.Start();
    var broken = false;
    double scriptMs = 0;
    double rejoinMs = 0;
    (string Kind, string? State, double Ms)[] told = [];
    try
    {
        broken = true;
        await BreakAsync(breakCommand);
        await ScriptAsync(breakCommand, victim.ToString(System.Globalization.CultureInfo.InvariantCulture));
        scriptMs = clock.Elapsed.TotalMilliseconds;
        told = await Task.WhenAll(monitors).WaitAsync(lostBound);
        var notLost = told.Where(t => t.State != "Lost").ToArray();
        if (notLost.Length > 0)
        {
            error = $"{notLost.Length} monitors ended {string.Join(", ", notLost.Select(t => $"{t.Kind}:{t.State ?? "without an end"}"))}";
        }
    }
    catch (Exception e) when (e is TimeoutException or InvalidOperationException or HttpRequestException)
    {
        error = $"{name} trial {number}: {e.Message}";
    }
    finally
    {
        await cts.CancelAsync();
        var rejoin = Stopwatch.StartNew();
        if (broken)
        {
            await ScriptAsync(restoreCommand, victim.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        await WaitForNodesAsync();
        rejoinMs = rejoin.Elapsed.TotalMilliseconds;
        foreach (var npid in npids)
        {
            try
            {
                await tenant.KillAsync(npid, Signals.SigKill);
            }
            catch (Exception)
            {
                // Lost, or gone with its node: nothing left to stop.
            }
        }
    }

    var times = told.Where(t => t.State == "Lost" && t.Kind != "via_victim").ToArray();
    return new Trial(
        times.Length == 0 ? double.NaN : times.Max(t => t.Ms),
        times.Length == 0 ? double.NaN : times.Min(t => t.Ms),
        times.Where(t => t.Kind == "sdk").Select(t => t.Ms).ToArray(),
        times.Where(t => t.Kind == "rest").Select(t => t.Ms).ToArray(),
        told.Where(t => t.State == "Lost" && t.Kind == "via_victim").Select(t => t.Ms).ToArray(),
        monitors.Count,
        scriptMs,
        rejoinMs,
        brokenAt,
        error);
}

Task<(string Kind, string? State, double Ms)> SdkMonitor(NefeleTenant through, string kind, string npid, TaskCompletionSource running, Stopwatch clock, CancellationToken ct) =>
    Task.Run(async () =>
    {
        string? last = null;
        try
        {
            await foreach (var e in through.MonitorAsync(npid, 0, ct))
            {
                last = e.State.ToString();
                if (e.State == ProcessState.Running)
                {
                    running.TrySetResult();
                }
            }
        }
        finally
        {
            running.TrySetResult();
        }

        return (kind, last, clock.Elapsed.TotalMilliseconds);
    }, ct);

Task<(string Kind, string? State, double Ms)> RestMonitor(string npid, TaskCompletionSource running, Stopwatch clock, CancellationToken ct) =>
    Task.Run(async () =>
    {
        string? last = null;
        try
        {
            using var response = await http.GetAsync($"/v1/tenants/{tenantName}/processes/{npid}/events", HttpCompletionOption.ResponseHeadersRead, ct);
            response.EnsureSuccessStatusCode();
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
            while (await reader.ReadLineAsync(ct) is { } line)
            {
                if (!line.StartsWith("data:", StringComparison.Ordinal))
                {
                    continue;
                }

                using var doc = JsonDocument.Parse(line[5..]);
                if (doc.RootElement.TryGetProperty("state", out var state))
                {
                    last = state.GetString();
                    if (last == "Running")
                    {
                        running.TrySetResult();
                    }
                }
            }
        }
        finally
        {
            running.TrySetResult();
        }

        return ("rest", last, clock.Elapsed.TotalMilliseconds);
    }, ct);

// The failure itself, at once; scripts/cluster then finishes and records it.
async Task BreakAsync(string command)
{
    if (command == "kill")
    {
        var dir = Path.Combine(stateDir, $"node{victim}");
        foreach (var (file, marker) in new[] { ("supervisor.pid", "cluster _supervise"), ("silo.pid", "nefele-silo.dll"), ("hostd.pid", "nefele-hostd.dll") })
        {
            if (PidOf(Path.Combine(dir, file), marker) is { } pid)
            {
                try
                {
                    using var process = Process.GetProcessById(pid);
                    process.Kill();
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException)
                {
                    // Already gone.
                }
            }
        }
    }
    else
    {
        await RunAsync("ip", "link", "set", $"{linkPrefix}v{victim}", "down");
    }
}

static int? PidOf(string file, string marker)
{
    try
    {
        var pid = int.Parse(File.ReadLines(file).First().Trim(), System.Globalization.CultureInfo.InvariantCulture);
        return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Contains(marker, StringComparison.Ordinal) ? pid : null;
    }
    catch (Exception e) when (e is IOException or FormatException or InvalidOperationException or UnauthorizedAccessException)
    {
        return null;
    }
}

async Task WaitForNodesAsync()
{
    var deadline = Stopwatch.StartNew();
    string seen = "nothing";
    while (deadline.Elapsed < rejoinBound)
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            using var doc = JsonDocument.Parse(await http.GetStringAsync("/v1/nodes", cts.Token));
            var active = doc.RootElement.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("node").GetString()!).ToHashSet(StringComparer.Ordinal);
            if (active.SetEquals(allNodes))
            {
                return;
            }

            seen = string.Join(",", active.Order(StringComparer.Ordinal));
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or JsonException)
        {
            seen = e.Message;
        }

        await Task.Delay(200);
    }

    throw new TimeoutException($"the cluster did not list nodes {string.Join(",", allNodes.Order(StringComparer.Ordinal))} within {rejoinBound.TotalSeconds} s (it lists: {seen})");
}

Task ScriptAsync(params string[] arguments) => RunAsync(script, arguments);

async Task RunAsync(string program, params string[] arguments)
{
    var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var a in arguments)
    {
        psi.ArgumentList.Add(a);
    }

    using var p = Process.Start(psi)!;
    var stdout = p.StandardOutput.ReadToEndAsync();
    var stderr = p.StandardError.ReadToEndAsync();
    using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(180));
    try
    {
        await p.WaitForExitAsync(cts.Token);
    }
    catch (OperationCanceledException)
    {
        p.Kill(entireProcessTree: true);
        throw new TimeoutException($"{program} {string.Join(' ', arguments)} did not finish within 180 s");
    }

    if (p.ExitCode != 0)
    {
        throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} exited {p.ExitCode}: {await stdout}{await stderr}");
    }
}

/// <summary>One trial: when the last and the first monitor were told Lost, each monitor's time, and the restore.</summary>
internal sealed record Trial(double AllToldMs, double FirstToldMs, double[] SdkMs, double[] RestMs, double[] ThroughVictimMs, int Monitors, double ScriptMs, double RejoinMs, DateTime BrokenAt, string? Error);
