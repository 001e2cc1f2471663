using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Nefele.HostAgent;
using Nefele.HostAgent.Cgroups;
using Nefele.HostAgent.Containers;
using Nefele.HostAgent.Engines;
using Nefele.HostAgent.Engines.Native;

// scripts/bench spawn --engine container: hostd's engine measured directly (no silo), same run:
//   nspawn_oneoff           systemd-nspawn -D / --volatile=yes /bin/true (the recipe's baseline)
//   native_spawn            the native engine's start of /bin/true on the host, until exec
//   container_warm_spawn    the same start into a running tenant container (busybox image), in turns with native_spawn
//   container_cold_start    the first process of a tenant on the node: container start + the process's exec
//   container_cold_start_systemd  the same for an image with systemd (booted), when --systemd-image is given
//   booted_warm_spawn       a start into a running booted container (a transient unit of its systemd, over its bus), same image
//   booted_raw_start_transient_unit  the same container's systemd: raw StartTransientUnit → JobRemoved, in turns with booted_warm_spawn
// Usage: nefele-bench-containers --native-dir DIR --out FILE [--n 200] [--cold-n 10] [--image DIR] [--systemd-image DIR]
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

var arguments = Args.Parse(args);
var nativeDir = arguments.Get("--native-dir") ?? throw new ArgumentException("--native-dir DIR (native/build) is required");
var outFile = arguments.Get("--out") ?? throw new ArgumentException("--out FILE is required");
var n = int.Parse(arguments.Get("--n") ?? "200", CultureInfo.InvariantCulture);
var coldN = int.Parse(arguments.Get("--cold-n") ?? "10", CultureInfo.InvariantCulture);
var systemdImage = arguments.Get("--systemd-image");
var work = Directory.CreateTempSubdirectory("nefele-bench-ctr-").FullName;
var image = arguments.Get("--image") ?? Busybox.Make(Path.Combine(work, "busybox"));
var node = "bench-ctr-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
var runDir = Path.Combine(work, "run");
Directory.CreateDirectory(runDir);
File.WriteAllText(Path.Combine(runDir, "api.sock"), "");

var options = new HostAgentOptions
{
    Node = node,
    RunDirectory = runDir,
    ShimPath = Path.Combine(nativeDir, "libnefele-shim.so"),
    SpawnLibraryPath = Path.Combine(nativeDir, "libnefele-spawn.so"),
    StopGrace = TimeSpan.FromSeconds(2),
    SharedDirectory = Path.Combine(work, "shared"),
    Containers = new ContainerOptions
    {
        Linger = TimeSpan.Zero,
        Network = "private",
        StateDirectory = Path.Combine(work, "state"),
        PausePath = Path.Combine(nativeDir, "nefele-pause"),
    },
};
options.ApplyDefaults();
var results = new JsonObject
{
    ["load_average_before"] = File.ReadAllText("/proc/loadavg").Trim(),
    ["n"] = n,
    ["cold_n"] = coldN,
    ["note"] = "hostd's engine measured in-process (no silo); warm and native spawns taken in turns in the same run; until exec returns",
};

results["nspawn_oneoff"] = Stats.Of(Nspawn.OneOff(Math.Min(coldN, 10), node));

var native = new NativeEngine(options.SpawnLibraryPath, CgroupManagerFactory.Create(options), NullLogger<NativeEngine>.Instance);
var manager = new ContainerManager(options, NullLogger<ContainerManager>.Instance);
await using var engine = new ContainerEngine(native, manager, node, NullLoggerFactory.Instance);
var exits = new Exits(engine);

LaunchSpec Spec(string tenant, string? imageRoot, string path, params string[] a) => new(
    "b" + Guid.NewGuid().ToString("N")[..12], tenant, path, a,
    new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin" }, "/",
    new CgroupLimits(0, 0), new ProcessIdentity(2000, 2000, []),
    imageRoot is null ? ProcessPaths.Host(options) : ProcessPaths.InContainer,
    imageRoot is null ? null : ContainerManager.NameFor(tenant, imageRoot), imageRoot);

async Task<double> TimeStartAsync(LaunchSpec spec)
{
    var clock = Stopwatch.StartNew();
    var started = await engine.StartAsync(spec, CancellationToken.None);
    var ms = clock.Elapsed.TotalMilliseconds;
    started.Output.Dispose();
    await exits.WaitAsync(started.Id);
    await engine.ReleaseAsync(started.Id);
    return ms;
}

// Cold: the tenant's first process on the node, the container stopped before each.
async Task<List<double>> ColdAsync(string imageRoot, string tenant)
{
    var times = new List<double>();
    for (var i = 0; i < coldN; i++)
    {
        var name = ContainerManager.NameFor(tenant, imageRoot);
        await manager.StoppedAsync(name);
        times.Add(await TimeStartAsync(Spec(tenant, imageRoot, "/bin/true")));
        await manager.StoppedAsync(name);
    }

    return times;
}

results["container_cold_start"] = Stats.Of(await ColdAsync(image, "coldbb"));
if (systemdImage is not null)
{
    results["container_cold_start_systemd"] = Stats.Of(await ColdAsync(systemdImage, "coldsd"));

    // Warm: a sleeper holds the booted container; each start is a unit of its systemd.
    var bootedHolder = await engine.StartAsync(Spec("warmsd", systemdImage, "/bin/sleep", "1000"), CancellationToken.None);
    var bootedContainer = manager.Running.Single(c => c.Name == ContainerManager.NameFor("warmsd", systemdImage));
    await using var raw = await Nefele.Bench.Shared.RawTransientUnits.ConnectAsync(bootedContainer.BusAddress!, defaultDependencies: false);
    var bootedTimes = new List<double>();
    var rawTimes = new List<double>();
    for (var i = 0; i < 10 + (n / 2); i++)
    {
        var ms = await TimeStartAsync(Spec("warmsd", systemdImage, "/bin/true"));
        var rawMs = await raw.StartAsync();
        if (i >= 10)
        {
            bootedTimes.Add(ms);
            rawTimes.Add(rawMs);
        }
    }

    await engine.SignalAsync(bootedHolder.Id, 9, SignalTarget.All, CancellationToken.None);
    bootedHolder.Output.Dispose();
    await exits.WaitAsync(bootedHolder.Id);
    await engine.ReleaseAsync(bootedHolder.Id);
    results["booted_warm_spawn"] = Stats.Of(bootedTimes);
    results["booted_raw_start_transient_unit"] = Stats.Of(rawTimes);
    results["booted_warm_over_raw_p50"] = Math.Round(Stats.Of(bootedTimes)["p50_ms"]!.GetValue<double>() / Stats.Of(rawTimes)["p50_ms"]!.GetValue<double>(), 2);
}

// Warm: a sleeper holds the container; native and container starts in turns.
var holder = await engine.StartAsync(Spec("warm", image, "/bin/sleep", "1000"), CancellationToken.None);
var nativeTimes = new List<double>();
var warmTimes = new List<double>();
for (var i = 0; i < 20; i++)
{
    await TimeStartAsync(Spec("warm", null, "/bin/true"));
    await TimeStartAsync(Spec("warm", image, "/bin/true"));
}

for (var i = 0; i < n; i++)
{
    if (i % 2 == 0)
    {
        nativeTimes.Add(await TimeStartAsync(Spec("warm", null, "/bin/true")));
        warmTimes.Add(await TimeStartAsync(Spec("warm", image, "/bin/true")));
    }
    else
    {
        warmTimes.Add(await TimeStartAsync(Spec("warm", image, "/bin/true")));
        nativeTimes.Add(await TimeStartAsync(Spec("warm", null, "/bin/true")));
    }
}

await engine.SignalAsync(holder.Id, 9, SignalTarget.All, CancellationToken.None);
holder.Output.Dispose();
await exits.WaitAsync(holder.Id);
await engine.ReleaseAsync(holder.Id);

var nativeStats = Stats.Of(nativeTimes);
var warmStats = Stats.Of(warmTimes);
results["native_spawn"] = nativeStats;
results["container_warm_spawn"] = warmStats;
results["warm_minus_native_p50_ms"] = Math.Round(warmStats["p50_ms"]!.GetValue<double>() - nativeStats["p50_ms"]!.GetValue<double>(), 3);
results["targets"] = new JsonObject
{
    ["container_cold_start_systemd_p50_ms_max"] = 1000,
    ["warm_minus_native_p50_ms_max"] = 2,
};
results["load_average_after"] = File.ReadAllText("/proc/loadavg").Trim();

await engine.DisposeAsync();
exits.Stop();
foreach (var h in Directory.GetDirectories("/sys/fs/cgroup"))
{
    var dir = Path.Combine(h, options.CgroupRoot, node);
    if (Directory.Exists(dir))
    {
        foreach (var d in Directory.GetDirectories(dir, "*", SearchOption.AllDirectories).OrderByDescending(d => d.Length))
        {
            Directory.Delete(d);
        }

        Directory.Delete(dir);
    }
}

Directory.Delete(work, recursive: true);
var json = results.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
File.WriteAllText(outFile, json + "\n");
Console.WriteLine(json);

internal sealed class Exits
{
    private readonly Dictionary<LocalProcessId, TaskCompletionSource> seen = [];
    private readonly CancellationTokenSource stop = new();

    public Exits(IProcessEngine engine) => _ = Task.Run(async () =>
    {
        try
        {
            await foreach (var exit in engine.ExitsAsync(stop.Token))
            {
                For(exit.Id).TrySetResult();
            }
        }
        catch (OperationCanceledException)
        {
        }
    });

    public Task WaitAsync(LocalProcessId id) => For(id).Task.WaitAsync(TimeSpan.FromSeconds(30));

    public void Stop() => stop.Cancel();

    private TaskCompletionSource For(LocalProcessId id)
    {
        lock (seen)
        {
            if (!seen.TryGetValue(id, out var tcs))
            {
                tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                seen[id] = tcs;
            }

            return tcs;
        }
    }
}

internal static class Stats
{
    public static JsonObject Of(List<double> ms)
    {
        var sorted = ms.OrderBy(x => x).ToArray();
        double At(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Floor(q * sorted.Length))];
        return new JsonObject
        {
            ["n"] = sorted.Length,
            ["p50_ms"] = Math.Round(At(0.5), 3),
            ["p90_ms"] = Math.Round(At(0.9), 3),
            ["mean_ms"] = Math.Round(sorted.Average(), 3),
            ["min_ms"] = Math.Round(sorted[0], 3),
            ["max_ms"] = Math.Round(sorted[^1], 3),
        };
    }
}

internal static class Nspawn
{
    private static readonly string[] Hierarchies = ["memory", "cpu", "cpuacct", "pids", "systemd", "unified"];
    private static readonly string[] Command = ["--", "systemd-nspawn", "--register=no", "--keep-unit", "-q", "-D", "/", "--volatile=yes", "/bin/true"];

    /// <summary>systemd-nspawn -D / --volatile=yes /bin/true, started from a cgroup of its own (removed after each).</summary>
    public static List<double> OneOff(int count, string node)
    {
        var times = new List<double>();
        var hierarchies = Hierarchies
            .Select(h => Path.Combine("/sys/fs/cgroup", h)).Where(Directory.Exists).ToArray();
        for (var i = 0; i < count; i++)
        {
            var cgroup = $"nefele-{node}-oneoff";
            var procs = hierarchies.Select(h => Path.Combine(h, cgroup)).ToArray();
            foreach (var dir in procs)
            {
                Directory.CreateDirectory(dir);
            }

            var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add("while [ \"$1\" != -- ]; do echo $$ > \"$1/cgroup.procs\" || exit 125; shift; done; shift; exec \"$@\"");
            psi.ArgumentList.Add("oneoff");
            foreach (var dir in procs)
            {
                psi.ArgumentList.Add(dir);
            }

            foreach (var a in Command)
            {
                psi.ArgumentList.Add(a);
            }

            var clock = Stopwatch.StartNew();
            using var p = Process.Start(psi)!;
            p.StandardOutput.ReadToEnd();
            var err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            var ms = clock.Elapsed.TotalMilliseconds;
            if (p.ExitCode != 0)
            {
                throw new InvalidOperationException($"systemd-nspawn one-off failed ({p.ExitCode}): {err}");
            }

            times.Add(ms);
            foreach (var dir in procs)
            {
                foreach (var d in Directory.GetDirectories(dir, "*", SearchOption.AllDirectories).OrderByDescending(d => d.Length).Append(dir))
                {
                    Directory.Delete(d);
                }
            }
        }

        return times;
    }
}

internal static class Busybox
{
    private static readonly string[] Applets = ["sh", "true", "sleep"];

    public static string Make(string root)
    {
        var busybox = File.Exists("/bin/busybox") ? "/bin/busybox" : "/usr/bin/busybox";
        Directory.CreateDirectory(Path.Combine(root, "bin"));
        File.Copy(busybox, Path.Combine(root, "bin", "busybox"));
        foreach (var a in Applets)
        {
            File.CreateSymbolicLink(Path.Combine(root, "bin", a), "busybox");
        }

        return root;
    }
}

internal sealed class Args
{
    private readonly Dictionary<string, string> values = new(StringComparer.Ordinal);

    public static Args Parse(string[] args)
    {
        var a = new Args();
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            a.values[args[i]] = args[i + 1];
        }

        return a;
    }

    public string? Get(string name) => values.TryGetValue(name, out var v) ? v : null;
}
