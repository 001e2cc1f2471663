using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Nefele.Bench;
using Nefele.Client;
using Nefele.Processes;

// nefele-bench spawn --gateway-port P --native DIR [--n 200] [--out FILE] [--api URL --nef PATH --nef-installed DIR [--cli-n 50]] [--methods M,M...]
//   [--gateway HOST:PORT --cluster-id ID --tls-dir DIR --near SELECTOR --far SELECTOR --far-gateway HOST:PORT]
// Measures, in one run on one machine: posix_spawn of /bin/true (C) and bash fork/exec of
// /bin/true (both until the exit is reaped); Nefele spawn through the SDK until Running
// (nefele_spawn) and until the exit is known (nefele_spawn_until_exit); crash → monitor
// notification; the peers that run a program to its end (Erlang open_port, systemd-run --wait,
// srun) when installed; and the wall clock of nef commands from a shell: cli_spawn and cli_ps with
// nef installed on PATH, the same through bin/nef, and nef --version (see Peers.CliAsync).
if (args is ["pair", ..])
{
    await PairedBench.RunAsync(args);
    return;
}

var options = BenchOptions.Parse(args);

// With NEFELE_SPAWN_TRACE=PREFIX the client's side of the hop trace (see SpawnTrace) goes to PREFIX.client.
var tracePrefix = Environment.GetEnvironmentVariable("NEFELE_SPAWN_TRACE");
var trace = tracePrefix is { Length: > 0 } ? new List<string>() : null;
var results = new List<MethodResult>();
if (options.Runs("posix_spawn"))
{
    results.Add(MethodResult.Of("posix_spawn", await Baselines.PosixSpawnAsync(options.NativeDir, options.N)));
}

if (options.Runs("bash"))
{
    results.Add(MethodResult.Of("bash", await Baselines.BashAsync(options.N)));
}

var skipped = new List<(string Method, string Reason)>();
var placements = new Dictionary<string, string>(StringComparer.Ordinal);

// On a cluster (--gateway, scripts/bench supervise --cluster) the link is mutual TLS with the
// cluster's program certificate, and --near / --far place the processes on the node the client
// connects through and on another one.
NefeleClientOptions Connect(string gateway)
{
    var connect = new NefeleClientOptions { Gateways = { gateway } };
    if (options.ClusterId is { } clusterId)
    {
        connect.ClusterId = clusterId;
    }

    if (options.TlsDir is { } tlsDir)
    {
        connect.UseTls(NefeleTls.FromPemFiles(Path.Combine(tlsDir, "ca.pem"), Path.Combine(tlsDir, "client.pem"), Path.Combine(tlsDir, "client.key")));
    }

    return connect;
}

await using var nefele = await NefeleConnection.ConnectAsync(Connect(options.Gateway ?? $"127.0.0.1:{options.GatewayPort}"));
await nefele.Admin.EnsureTenantAsync("bench");
var tenant = nefele.Tenant("bench");
IReadOnlyList<string> near = options.Near is { } nearSelector ? [nearSelector] : [];
var spec = new ProcessSpec { Path = "/bin/true", Affinity = near };

// The cluster's nodes as the supervisor figures use them: each one's name, selector and a client
// connected through its gateway (the far one's through --far-gateway).
await using var farConnection = options.FarGateway is { } farGateway ? await NefeleConnection.ConnectAsync(Connect(farGateway)) : null;
var nodes = new List<Supervise.Node>();
foreach (var (selector, client) in new[] { (options.Near, tenant), (options.Far, farConnection?.Tenant("bench")) })
{
    if (selector is not null && client is not null)
    {
        var npid = await client.SpawnAsync(spec with { Affinity = [selector] });
        await client.WaitAsync(npid);
        nodes.Add(new Supervise.Node((await client.GetAsync(npid)).Node!, selector, client));
    }
}
for (var i = 0; i < options.Warmup; i++)
{
    await tenant.WaitAsync(await tenant.SpawnAsync(spec));
}

var spawn = new List<double>(options.N);
for (var i = 0; i < (options.Runs("nefele_spawn") ? options.N : 0); i++)
{
    var start = Stopwatch.GetTimestamp();
    var npid = await tenant.SpawnAsync(spec);
    spawn.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    trace?.Add($"{start} c.start {npid} 0");
    trace?.Add($"{Stopwatch.GetTimestamp()} c.end {npid} 0");
    await tenant.WaitAsync(npid);
}

if (spawn.Count > 0)
{
    results.Add(MethodResult.Of("nefele_spawn", spawn));
}

// The figure that compares with the peers below: they all run /bin/true to its end.
var untilExit = new List<double>(options.N);
for (var i = 0; i < (options.Runs("nefele_spawn_until_exit") ? options.N : 0); i++)
{
    var start = Stopwatch.GetTimestamp();
    var end = await tenant.WaitAsync(await tenant.SpawnAsync(spec));
    untilExit.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    if (end.ExitCode != 0)
    {
        throw new InvalidOperationException($"/bin/true ended with {end}");
    }
}

if (untilExit.Count > 0)
{
    results.Add(MethodResult.Of("nefele_spawn_until_exit", untilExit));
}

// The systemd engine's baselines, on the systemd the node's engine uses, right after its spawns.
if (options.SystemdBus is { } systemdBus)
{
    if (options.Runs("systemd_raw"))
    {
        results.Add(MethodResult.Of("systemd_raw_start_transient_unit", await SystemdBaselines.RawStartAsync(systemdBus, options.N)));
    }

    if (options.Runs("systemd_run_testbed") && options.SystemdPid > 0)
    {
        results.Add(MethodResult.Of("systemd_run_wait", await SystemdBaselines.SystemdRunAsync(options.SystemdPid, options.N)));
    }
}

var notify = new List<double>(options.N);
var sleeper = new ProcessSpec { Path = "/bin/sleep", Args = ["60"], Affinity = near };
for (var i = 0; i < (options.Runs("crash_notify") ? options.N + 10 : 0); i++)
{
    var elapsed = await PairedBench.CrashAsync(tenant, sleeper, trace);
    if (i >= 10)
    {
        notify.Add(elapsed);
    }
}

if (notify.Count > 0)
{
    results.Add(MethodResult.Of("crash_notify", notify));
}

// --far: nefele_spawn and crash_notify with the process on another node than the one the client
// connects through.
if (options.Far is { } farSelector)
{
    IReadOnlyList<string> far = [farSelector];
    var farSpec = spec with { Affinity = far };
    var farSpawn = new List<double>(options.N);
    for (var i = 0; i < (options.Runs("nefele_spawn") ? options.N + 10 : 0); i++)
    {
        var start = Stopwatch.GetTimestamp();
        var npid = await tenant.SpawnAsync(farSpec);
        var elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        await tenant.WaitAsync(npid);
        if (i >= 10)
        {
            farSpawn.Add(elapsed);
        }
    }

    if (farSpawn.Count > 0)
    {
        results.Add(MethodResult.Of("nefele_spawn_cross_node", farSpawn));
    }

    var farSleeper = sleeper with { Affinity = far };
    var farNotify = new List<double>(options.N);
    for (var i = 0; i < (options.Runs("crash_notify") ? options.N + 10 : 0); i++)
    {
        var elapsed = await PairedBench.CrashAsync(tenant, farSleeper);
        if (i >= 10)
        {
            farNotify.Add(elapsed);
        }
    }

    if (farNotify.Count > 0)
    {
        results.Add(MethodResult.Of("crash_notify_cross_node", farNotify));
    }
}

// Only when asked for (scripts/bench supervise): a supervisor's restarts are not part of the spawn
// figures. With --near and --far, a supervisor with its child and one away from it, their restarts
// in turns (see Supervise), the second's figures suffixed _cross_node.
if (options.Methods?.Contains("supervise_restart") == true)
{
    var figures = new List<(string Suffix, Supervise.Figures Figures)>();
    if (nodes.Count == 2)
    {
        var (same, cross) = await Supervise.RunAsync(nodes, options.N);
        figures.Add(("", same));
        figures.Add(("_cross_node", cross));
    }
    else
    {
        figures.Add(("", await Supervise.RunAsync(tenant, options.N)));
    }

    foreach (var (suffix, f) in figures)
    {
        results.Add(MethodResult.Of("supervise_restart" + suffix, f.Client));
        results.Add(MethodResult.Of("supervise_restart_node" + suffix, f.Node));
        placements["supervise_restart" + suffix] = f.Where;
        Console.WriteLine($"supervise_restart{suffix}: {f.Where}");
    }
}

foreach (var (method, run) in options.Runs("peers") ? new (string, Func<Task<(List<double>?, string?)>>)[]
{
    ("erlang_open_port", () => Peers.ErlangAsync(options.N)),
    ("systemd_run_wait", () => Peers.SystemdRunAsync(options.N)),
    ("srun", () => Peers.SrunAsync(options.N)),
} : [])
{
    var (samples, reason) = await run();
    if (samples is not null)
    {
        results.Add(MethodResult.Of(method, samples));
    }
    else
    {
        skipped.Add((method, reason!));
    }
}

var (cli, cliSkipped) = options.Runs("cli")
    ? await Peers.CliAsync(options.Nef, options.NefInstalled, options.Api, options.CliN)
    : ([], null);
results.AddRange(cli.Select(c => MethodResult.Of(c.Method, c.Samples)));
if (cliSkipped is not null)
{
    skipped.Add(("cli_spawn", cliSkipped));
}

Console.WriteLine($"{"method",-24} {"n",5} {"p50_ms",9} {"p99_ms",9}");
foreach (var r in results)
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{r.Method,-24} {r.N,5} {r.P50Ms,9:0.000} {r.P99Ms,9:0.000}"));
}

foreach (var (method, reason) in skipped)
{
    Console.WriteLine($"{method,-24} skipped: {reason}");
}

double P50(string method) => results.First(r => r.Method == method).P50Ms;
bool Has(string method) => results.Any(r => r.Method == method);
if (Has("nefele_spawn") && Has("posix_spawn"))
{
    var nefeleSpawn = results.First(r => r.Method == "nefele_spawn");
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"nefele_spawn p50 / posix_spawn p50 = {nefeleSpawn.P50Ms / P50("posix_spawn"):0.0}x (target <= 2.5x, stretch 2x); nefele_spawn p99 = {nefeleSpawn.P99Ms:0.0} ms (target <= 10 ms)"));
}

if (Has("nefele_spawn") && Has("systemd_raw_start_transient_unit"))
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"nefele_spawn p50 / systemd_raw_start_transient_unit p50 = {P50("nefele_spawn") / P50("systemd_raw_start_transient_unit"):0.00}x (systemd engine target <= 1.2x)"));
}

if (Has("crash_notify"))
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"crash_notify p50 = {P50("crash_notify"):0.000} ms (target <= 0.5 ms)"));
}
if (Has("supervise_restart") && Has("nefele_spawn"))
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"supervise_restart p50 = {P50("supervise_restart"):0.000} ms (crash to replacement Running, as a client watching the supervisor sees it); node-side {P50("supervise_restart_node"):0.000} ms; target <= nefele_spawn p50 + 1 ms = {P50("nefele_spawn") + 1:0.000} ms"));
}

if (Has("supervise_restart_cross_node") && Has("nefele_spawn_cross_node"))
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"supervise_restart_cross_node p50 = {P50("supervise_restart_cross_node"):0.000} ms (child on another node than the supervisor and the client watching it); node-side {P50("supervise_restart_node_cross_node"):0.000} ms; nefele_spawn_cross_node p50 + 1 ms = {P50("nefele_spawn_cross_node") + 1:0.000} ms"));
}

if (Has("cli_spawn"))
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"cli_spawn p50 = {P50("cli_spawn"):0.0} ms, cli_ps p50 = {P50("cli_ps"):0.0} ms (nef on PATH; target <= 15 ms); through bin/nef {P50("cli_spawn_bin_nef"):0.0} and {P50("cli_ps_bin_nef"):0.0} ms; nef --version {P50("cli_version"):0.0} ms"));
    if (results.Any(r => r.Method == "cli_curl_spawn"))
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"the same requests from curl: spawn {P50("cli_curl_spawn"):0.0} ms, ps {P50("cli_curl_ps"):0.0} ms"));
    }
}

var report = new
{
    benchmark = Has("supervise_restart") ? "supervise" : "spawn",
    machine = new { cores = Environment.ProcessorCount, os = RuntimeInformation.OSDescription },
    at = DateTimeOffset.UtcNow,
    setup = new { n = options.N, cluster = options.Gateway is not null, near = options.Near, far = options.Far, placements, engine = options.SystemdBus is null ? "native" : "systemd", systemd_bus = options.SystemdBus },
    results = results.Select(r => new { method = r.Method, n = r.N, p50_ms = Math.Round(r.P50Ms, 4), p99_ms = Math.Round(r.P99Ms, 4) }),
    skipped = skipped.Select(s => new { method = s.Method, reason = s.Reason }),
};
Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(options.Out))!);
await File.WriteAllTextAsync(options.Out, JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
Console.WriteLine($"wrote {options.Out}");
if (trace is not null)
{
    await File.WriteAllLinesAsync($"{tracePrefix}.client", trace);
}
