using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Nefele.Bench;
using Nefele.Client;
using Nefele.Processes;

// nefele-bench spawn --gateway-port P --native DIR [--n 200] [--out FILE]
// Measures, in one run on one machine: posix_spawn of /bin/true (C), bash fork/exec of
// /bin/true, Nefele spawn through the SDK until Running, and crash → monitor notification.
var options = BenchOptions.Parse(args);
var results = new List<MethodResult>
{
    MethodResult.Of("posix_spawn", await Baselines.PosixSpawnAsync(options.NativeDir, options.N)),
    MethodResult.Of("bash", await Baselines.BashAsync(options.N)),
};

await using var nefele = await NefeleConnection.ConnectAsync(options.GatewayPort);
await nefele.Admin.EnsureTenantAsync("bench");
var tenant = nefele.Tenant("bench");
var spec = new ProcessSpec { Path = "/bin/true" };
for (var i = 0; i < options.Warmup; i++)
{
    await tenant.WaitAsync(await tenant.SpawnAsync(spec));
}

var spawn = new List<double>(options.N);
for (var i = 0; i < options.N; i++)
{
    var start = Stopwatch.GetTimestamp();
    var npid = await tenant.SpawnAsync(spec);
    spawn.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    await tenant.WaitAsync(npid);
}

results.Add(MethodResult.Of("nefele_spawn", spawn));

var notify = new List<double>(options.N);
var sleeper = new ProcessSpec { Path = "/bin/sleep", Args = ["60"] };
for (var i = 0; i < options.N + 10; i++)
{
    var npid = await tenant.SpawnAsync(sleeper);
    await using var monitor = tenant.MonitorAsync(npid).GetAsyncEnumerator();
    var pid = 0;
    while (await monitor.MoveNextAsync() && monitor.Current.State != ProcessState.Running)
    {
    }

    pid = monitor.Current.Pid;

    // The monitor's next poll is in flight once MoveNextAsync is called; then the crash.
    var next = monitor.MoveNextAsync();
    var start = Stopwatch.GetTimestamp();
    if (Libc.Kill(pid, 11) != 0)
    {
        throw new InvalidOperationException($"kill({pid}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    await next;
    var elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    if (monitor.Current.State != ProcessState.Exited || monitor.Current.End?.Signal != 11)
    {
        throw new InvalidOperationException($"unexpected event {monitor.Current}");
    }

    if (i >= 10)
    {
        notify.Add(elapsed);
    }
}

results.Add(MethodResult.Of("crash_notify", notify));

Console.WriteLine($"{"method",-14} {"n",5} {"p50_ms",9} {"p99_ms",9}");
foreach (var r in results)
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{r.Method,-14} {r.N,5} {r.P50Ms,9:0.000} {r.P99Ms,9:0.000}"));
}

var posix = results[0].P50Ms;
var ours = results[2].P50Ms;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"nefele_spawn p50 / posix_spawn p50 = {ours / posix:0.0}x (target <= 4x); crash_notify p50 = {results[3].P50Ms:0.000} ms (target <= 1 ms)"));

var report = new
{
    benchmark = "spawn",
    machine = new { cores = Environment.ProcessorCount, os = RuntimeInformation.OSDescription },
    at = DateTimeOffset.UtcNow,
    results = results.Select(r => new { method = r.Method, n = r.N, p50_ms = Math.Round(r.P50Ms, 4), p99_ms = Math.Round(r.P99Ms, 4) }),
};
Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(options.Out))!);
await File.WriteAllTextAsync(options.Out, JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
Console.WriteLine($"wrote {options.Out}");
