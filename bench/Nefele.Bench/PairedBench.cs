using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Nefele.Client;
using Nefele.Processes;

namespace Nefele.Bench;

/// <summary>
/// <c>nefele-bench pair --a PORT --b PORT [--n 300] [--warmup 200] [--out FILE]</c>: two nodes
/// side by side (two builds, or one build with a setting changed), one client taking turns
/// between them spawn by spawn (until Running, and until the exit is known) and crash by crash, the order flipped every round, so both see
/// the machine's load at the same moments. The comparison is the ratio B/A of each figure.
/// </summary>
internal static class PairedBench
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public const string Usage = "usage: nefele-bench pair --a GATEWAY_PORT --b GATEWAY_PORT [--n 300] [--warmup 200] [--out FILE]";

    public static async Task RunAsync(string[] args)
    {
        int a = 0, b = 0, n = 300, warmup = 200;
        string? output = null;
        for (var i = 1; i < args.Length; i += 2)
        {
            var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value; {Usage}");
            switch (args[i])
            {
                case "--a": a = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--b": b = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--n": n = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--warmup": warmup = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--out": output = value; break;
                default: throw new ArgumentException($"unknown option {args[i]}; {Usage}");
            }
        }

        if (a <= 0 || b <= 0 || n < 1 || warmup < 0)
        {
            throw new ArgumentException($"--a and --b are gateway ports, --n at least 1, --warmup at least 0; {Usage}");
        }

        await using var nodeA = await NefeleConnection.ConnectAsync(new NefeleClientOptions { Gateways = { $"127.0.0.1:{a}" } });
        await using var nodeB = await NefeleConnection.ConnectAsync(new NefeleClientOptions { Gateways = { $"127.0.0.1:{b}" } });
        await nodeA.Admin.EnsureTenantAsync("bench");
        await nodeB.Admin.EnsureTenantAsync("bench");
        var tenants = new[] { nodeA.Tenant("bench"), nodeB.Tenant("bench") };
        var spec = new ProcessSpec { Path = "/bin/true" };
        var sleeper = new ProcessSpec { Path = "/bin/sleep", Args = ["60"] };
        for (var i = 0; i < warmup; i++)
        {
            foreach (var t in tenants)
            {
                await t.WaitAsync(await t.SpawnAsync(spec));
            }
        }

        var spawn = new[] { new List<double>(n), new List<double>(n) };
        var untilExit = new[] { new List<double>(n), new List<double>(n) };
        var crash = new[] { new List<double>(n), new List<double>(n) };
        for (var i = 0; i < n; i++)
        {
            foreach (var k in i % 2 == 0 ? new[] { 0, 1 } : [1, 0])
            {
                var start = Stopwatch.GetTimestamp();
                var npid = await tenants[k].SpawnAsync(spec);
                spawn[k].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                await tenants[k].WaitAsync(npid);
            }

            foreach (var k in i % 2 == 0 ? new[] { 1, 0 } : [0, 1])
            {
                var start = Stopwatch.GetTimestamp();
                await tenants[k].WaitAsync(await tenants[k].SpawnAsync(spec));
                untilExit[k].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }

            foreach (var k in i % 2 == 0 ? new[] { 0, 1 } : [1, 0])
            {
                crash[k].Add(await CrashAsync(tenants[k], sleeper));
            }
        }

        var rows = new List<object>();
        Console.WriteLine($"{"figure",-14} {"A p50",8} {"B p50",8} {"B/A",6} {"A p90",8} {"B p90",8} {"A p99",8} {"B p99",8}");
        foreach (var (name, samples) in new[] { ("spawn", spawn), ("until_exit", untilExit), ("crash_notify", crash) })
        {
            var sa = samples[0].Order().ToArray();
            var sb = samples[1].Order().ToArray();
            double P(double[] s, double p) => s[Math.Clamp((int)Math.Ceiling(p * s.Length) - 1, 0, s.Length - 1)];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name,-14} {P(sa, .5),8:0.000} {P(sb, .5),8:0.000} {P(sb, .5) / P(sa, .5),6:0.00} {P(sa, .9),8:0.000} {P(sb, .9),8:0.000} {P(sa, .99),8:0.000} {P(sb, .99),8:0.000}"));
            rows.Add(new
            {
                figure = name,
                n = sa.Length,
                a = new { p50_ms = P(sa, .5), p90_ms = P(sa, .9), p99_ms = P(sa, .99) },
                b = new { p50_ms = P(sb, .5), p90_ms = P(sb, .9), p99_ms = P(sb, .99) },
                p50_b_over_a = P(sb, .5) / P(sa, .5),
            });
        }

        if (output is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
            await File.WriteAllTextAsync(output, JsonSerializer.Serialize(new { benchmark = "spawn-pair", at = DateTimeOffset.UtcNow, figures = rows }, Indented));
        }
    }

    /// <summary>
    /// A Running sleeper is sent SIGSEGV; the time until its monitor has the Exited event. With
    /// <paramref name="trace"/>, the client's two ends of the hop trace are added to it.
    /// </summary>
    internal static async Task<double> CrashAsync(NefeleTenant tenant, ProcessSpec sleeper, List<string>? trace = null)
    {
        var npid = await tenant.SpawnAsync(sleeper);
        await using var monitor = tenant.MonitorAsync(npid).GetAsyncEnumerator();
        while (await monitor.MoveNextAsync() && monitor.Current.State != ProcessState.Running)
        {
        }

        var pid = monitor.Current.Pid;

        // The monitor's next poll is in flight once MoveNextAsync is called; then the crash.
        var next = monitor.MoveNextAsync();
        var start = Stopwatch.GetTimestamp();
        if (Libc.Kill(pid, 11) != 0)
        {
            throw new InvalidOperationException($"kill({pid}) failed: errno {Marshal.GetLastPInvokeError()}");
        }

        await next;
        var elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        trace?.Add($"{start} c.kill {npid} 0");
        trace?.Add($"{Stopwatch.GetTimestamp()} c.notified {npid} 0");
        if (monitor.Current.State != ProcessState.Exited || monitor.Current.End?.Signal != 11)
        {
            throw new InvalidOperationException($"unexpected event {monitor.Current}");
        }

        return elapsed;
    }
}
