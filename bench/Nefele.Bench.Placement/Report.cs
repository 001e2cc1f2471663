using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Nefele.Bench.Placement;

/// <summary>Merges the phases' documents, prints the summary beside the paper's figures, and judges the targets.</summary>
internal static class Report
{
    public static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    private static readonly string[] Phases = ["scheduling", "cpu_load", "throughput_single", "throughput_cluster", "hollow"];

    public static int Write(string dir, string output, bool quick)
    {
        var phases = new JsonObject();
        foreach (var name in Phases)
        {
            var file = Path.Combine(dir, name + ".json");
            phases[name] = File.Exists(file) ? JsonNode.Parse(File.ReadAllText(file)) : new JsonObject { ["error"] = "not run" };
        }

        var loadFile = Path.Combine(dir, "loadavg");
        var targets = new JsonArray();
        var o = CultureInfo.InvariantCulture;
        Console.WriteLine();
        Console.WriteLine($"=== placement benchmark{(quick ? " (--quick: few requests per point, figures are indicative only)" : string.Empty)} — {Environment.ProcessorCount} cores, load average before: {(File.Exists(loadFile) ? File.ReadAllText(loadFile).Trim() : "?")}");
        Console.WriteLine($"{"experiment",-44} {"ours",-40} paper / reference");

        foreach (var p in Points(phases["scheduling"]))
        {
            Row($"scheduling time, {p["tasks"]} tasks/request", Lat(p["latency"]), "14-20 ms per request");
        }

        foreach (var p in Points(phases["cpu_load"]))
        {
            Row($"10 tasks/request, {p["cpu_load_pct"]} % background CPU", Lat(p["latency"]), "14-20 ms (paper: flat under load)");
        }

        var single = phases["throughput_single"]?["ramp"];
        double? singleBest = null, singleOnFloor = null;
        if (single is not null)
        {
            foreach (var s in single["steps"]!.AsArray())
            {
                Row($"1 admission node, {s!["offered_rps"]} req/s offered", Step(s), string.Empty);
            }

            singleOnFloor = single["max_rate_on_floor_rps"]?.GetValue<double>();
            singleBest = single["max_achieved_rps"]?.GetValue<double>();
            Row("1 admission node: highest rate on latency floor", string.Format(o, "{0:0} req/s (floor p50 {1} ms)", singleOnFloor, Num(single["floor_p50_ms"])), "queues past ~33 req/s; >300 ms at 85 req/s");
            Target(targets, "one admission node >= 300 req/s before p50 leaves its floor (> 2x lowest step)", singleOnFloor >= 300, $"{singleOnFloor:0} req/s");
        }

        var cluster = phases["throughput_cluster"];
        if (cluster?["all_gateways"] is { } all && cluster["one_gateway"] is { } one)
        {
            var nodes = cluster["nodes"];
            foreach (var (label, ramp) in new[] { ($"{nodes} admission nodes", all), ("1 gateway of the cluster", one) })
            {
                foreach (var s in ramp["steps"]!.AsArray())
                {
                    Row($"{label}, {s!["offered_rps"]} req/s", Step(s), string.Empty);
                }
            }

            double allBest = all["max_achieved_rps"]!.GetValue<double>(), oneBest = one["max_achieved_rps"]!.GetValue<double>();
            double allFloor = all["max_rate_on_floor_rps"]!.GetValue<double>(), oneFloor = one["max_rate_on_floor_rps"]!.GetValue<double>();
            Row($"{nodes} nodes: most achieved / on floor", string.Format(o, "{0:0.0} / {1:0} req/s", allBest, allFloor), "15 nodes: 500 req/s under 50 ms");
            Row("1 gateway, same cluster: achieved / on floor", string.Format(o, "{0:0.0} / {1:0} req/s", oneBest, oneFloor), string.Empty);
            Target(targets, "throughput rises with admission nodes (all gateways > one gateway)", allBest > oneBest * 1.1 || allFloor > oneFloor,
                string.Format(o, "{0:0.0} vs {1:0.0} req/s achieved, {2:0} vs {3:0} req/s on floor", allBest, oneBest, allFloor, oneFloor));
        }

        var hollow = Points(phases["hollow"]).ToArray();
        foreach (var p in hollow)
        {
            Row($"hollow: {p["nodes"]} nodes, {p["concurrency"]} in flight x {p["tasks_per_request"]} tasks",
                string.Format(o, "{0:0} tasks/s, {1}", p["tasks_per_s"]!.GetValue<double>(), Lat(p["latency"])),
                "Kubernetes ~300-900 pods/s; Nomad C2M ~1,500/s");
        }

        if (hollow.LastOrDefault(p => p["nodes"]!.GetValue<int>() >= 1000) is { } big)
        {
            var rate = big["tasks_per_s"]!.GetValue<double>();
            var p99 = big["latency"]?["p99_ms"]?.GetValue<double>() ?? double.NaN;
            Target(targets, "hollow, 1,000 nodes: >= 5,000 tasks/s with p99 decision latency <= 50 ms (end to end)", rate >= 5000 && p99 <= 50,
                string.Format(o, "{0:0} tasks/s, p99 {1:0.0} ms", rate, p99));
        }

        foreach (var name in Phases)
        {
            if (phases[name]?["error"] is { } error)
            {
                Console.WriteLine($"{name}: {error}");
            }
        }

        Console.WriteLine();
        Console.WriteLine("targets (reported, not enforced):");
        foreach (var t in targets)
        {
            Console.WriteLine($"  [{((bool)t!["pass"]! ? "pass" : "miss")}] {t["target"]}: {t["ours"]}");
        }

        var report = new JsonObject
        {
            ["benchmark"] = "placement",
            ["quick"] = quick,
            ["machine"] = new JsonObject { ["cores"] = Environment.ProcessorCount, ["os"] = RuntimeInformation.OSDescription, ["loadavg_before"] = File.Exists(loadFile) ? File.ReadAllText(loadFile).Trim() : null },
            ["at"] = DateTimeOffset.UtcNow.ToString("O", o),
            ["paper"] = new JsonObject
            {
                ["scheduling_ms_per_request"] = "14-20",
                ["one_admission_node"] = "queues past ~33 req/s; > 300 ms at 85 req/s",
                ["fifteen_admission_nodes"] = "500 req/s under 50 ms",
                ["kubernetes_pods_per_s"] = "300-900",
                ["nomad_c2m_containers_per_s"] = "~1,500",
            },
            ["results"] = phases,
            ["targets"] = targets,
        };
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        File.WriteAllText(output, report.ToJsonString(Json));
        Console.WriteLine($"wrote {output}");
        return Phases.Any(n => phases[n]?["error"] is not null) ? 1 : 0;
    }

    private static IEnumerable<JsonNode> Points(JsonNode? phase) =>
        phase?["points"] is JsonArray a ? a.Where(p => p is not null).Select(p => p!) : [];

    private static string Lat(JsonNode? l) =>
        l is null ? "-" : string.Format(CultureInfo.InvariantCulture, "p50 {0} ms, p99 {1} ms (n={2})", Num(l["p50_ms"]), Num(l["p99_ms"]), l["n"]);

    private static string Step(JsonNode s) =>
        string.Format(CultureInfo.InvariantCulture, "{0} req/s, p50 {1} ms, p99 {2} ms", s["achieved_rps"], Num(s["latency"]?["p50_ms"]), Num(s["latency"]?["p99_ms"]));

    private static string Num(JsonNode? v) =>
        v is null ? "-" : v.GetValue<double>().ToString("0.0", CultureInfo.InvariantCulture);

    private static void Row(string what, string ours, string paper) => Console.WriteLine($"{what,-44} {ours,-40} {paper}");

    private static void Target(JsonArray targets, string target, bool? pass, string ours) =>
        targets.Add(new JsonObject { ["target"] = target, ["pass"] = pass == true, ["ours"] = ours });
}
