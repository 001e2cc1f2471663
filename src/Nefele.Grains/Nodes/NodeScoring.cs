using Nefele.Client;
using Nefele.Placement;

namespace Nefele.Nodes;

/// <summary>
/// A node's self-assessment for a set of asks: how many fit (in order), and a score in [0, 1].
/// The score prefers free capacity left after placing; penalises stranding (a node whose CPU
/// and memory would be used unevenly strands the scarcer one — the free remainder of the other
/// cannot be sold); penalises oversubscription risk from the measured load (above
/// <see cref="HighLoad"/> the score falls to 0 at a fully busy node, below it a quieter node
/// still wins a tie); and keeps device nodes for tasks that need devices.
/// Pure, so it is tested as a table.
/// </summary>
public static class NodeScoring
{
    /// <summary>Measured CPU load above which a node is treated as at risk of oversubscription.</summary>
    public const double HighLoad = 0.8;

    private static readonly IReadOnlyDictionary<string, long> NoDevices = new Dictionary<string, long>();

    public static NodeOffer Offer(string node, bool attached, (long Cpu, long Memory) allocatable, (long Cpu, long Memory) taken, IReadOnlyList<ResourceAsk> asks) =>
        Offer(node, attached, allocatable, taken, asks, NoDevices, NoDevices, 0);

    public static NodeOffer Offer(
        string node,
        bool attached,
        (long Cpu, long Memory) allocatable,
        (long Cpu, long Memory) taken,
        IReadOnlyList<ResourceAsk> asks,
        IReadOnlyDictionary<string, long> devices,
        IReadOnlyDictionary<string, long> takenDevices,
        double cpuLoad)
    {
        if (!attached)
        {
            return new NodeOffer { Node = node, Fits = 0, Shortfall = $"node {node} has no host agent attached" };
        }

        var freeCpu = allocatable.Cpu - taken.Cpu;
        var freeMemory = allocatable.Memory - taken.Memory;
        var freeDevices = devices.ToDictionary(d => d.Key, d => d.Value - takenDevices.GetValueOrDefault(d.Key), StringComparer.Ordinal);
        var usedDevices = new Dictionary<string, long>(StringComparer.Ordinal);
        long cpu = 0, memory = 0;
        var fits = 0;
        var wantsDevices = false;
        string? shortfall = null;
        foreach (var ask in asks)
        {
            if (cpu + ask.CpuMillis > freeCpu)
            {
                shortfall = $"cpu: {FormatCpu(cpu + ask.CpuMillis)} asked, {FormatCpu(Math.Max(freeCpu, 0))} free of {FormatCpu(allocatable.Cpu)} on node {node}";
                break;
            }

            if (memory + ask.MemoryBytes > freeMemory)
            {
                shortfall = $"memory: {FormatBytes(memory + ask.MemoryBytes)} asked, {FormatBytes(Math.Max(freeMemory, 0))} free of {FormatBytes(allocatable.Memory)} on node {node}";
                break;
            }

            shortfall = DeviceShortfall(node, ask, devices, freeDevices, usedDevices);
            if (shortfall is not null)
            {
                break;
            }

            foreach (var (name, count) in ask.Devices ?? NoDevices)
            {
                usedDevices[name] = usedDevices.GetValueOrDefault(name) + count;
                wantsDevices |= count > 0;
            }

            cpu += ask.CpuMillis;
            memory += ask.MemoryBytes;
            fits++;
        }

        var cpuLeft = allocatable.Cpu == 0 ? 0 : (double)(freeCpu - cpu) / allocatable.Cpu;
        var memoryLeft = allocatable.Memory == 0 ? 0 : (double)(freeMemory - memory) / allocatable.Memory;
        var stranding = Math.Abs(cpuLeft - memoryLeft);
        var score = ((cpuLeft + memoryLeft) / 2) - (0.5 * stranding);
        score -= LoadPenalty(cpuLoad, score);
        if (!wantsDevices && devices.Values.Any(v => v > 0))
        {
            score -= 0.1;
        }

        return new NodeOffer
        {
            Node = node,
            Fits = fits,
            Score = Math.Clamp(score, 0, 1),
            Shortfall = shortfall,
            FreeCpuMillis = freeCpu,
            FreeMemoryBytes = freeMemory,
            FreeDevices = freeDevices,
            CpuLoad = cpuLoad,
        };
    }

    /// <summary>
    /// Below <see cref="HighLoad"/>: a tenth of the load, so of two equal nodes the quieter wins.
    /// Above: the score shrinks in proportion to the headroom left, reaching 0 at a fully busy node.
    /// </summary>
    private static double LoadPenalty(double cpuLoad, double score)
    {
        var load = Math.Clamp(double.IsFinite(cpuLoad) ? cpuLoad : 0, 0, 1);
        if (load <= HighLoad)
        {
            return 0.1 * load;
        }

        var kept = (1 - load) / (1 - HighLoad);
        return (0.1 * HighLoad) + (Math.Max(score - (0.1 * HighLoad), 0) * (1 - kept));
    }

    private static string? DeviceShortfall(string node, ResourceAsk ask, IReadOnlyDictionary<string, long> devices, Dictionary<string, long> free, Dictionary<string, long> used)
    {
        foreach (var (name, count) in ask.Devices ?? NoDevices)
        {
            if (count <= 0)
            {
                continue;
            }

            if (!devices.TryGetValue(name, out var total) || total <= 0)
            {
                return $"device {name}: node {node} has none";
            }

            var want = used.GetValueOrDefault(name) + count;
            if (want > free[name])
            {
                return $"device {name}: {want} asked, {Math.Max(free[name], 0)} free of {total} on node {node}";
            }
        }

        return null;
    }

    public static string FormatCpu(long millis) => millis == 1000 ? "1 core" : millis % 1000 == 0 ? $"{millis / 1000} cores" : $"{millis}m";

    public static string FormatBytes(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.#} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.#} MiB",
        >= 1L << 10 => $"{bytes / (double)(1L << 10):0.#} KiB",
        _ => $"{bytes} B",
    };
}
