using Nefele.Placement;

namespace Nefele.Nodes;

/// <summary>
/// A node's self-assessment for a set of asks: how many fit (in order), and a score in [0, 1]
/// that prefers nodes left balanced after placing — a node whose CPU and memory would be used
/// unevenly strands the scarcer one (the free remainder of the other cannot be sold).
/// Pure, so it is tested as a table.
/// </summary>
public static class NodeScoring
{
    public static NodeOffer Offer(string node, bool attached, (long Cpu, long Memory) allocatable, (long Cpu, long Memory) taken, IReadOnlyList<ResourceAsk> asks)
    {
        if (!attached)
        {
            return new NodeOffer { Node = node, Fits = 0, Shortfall = $"node {node} has no host agent attached" };
        }

        var freeCpu = allocatable.Cpu - taken.Cpu;
        var freeMemory = allocatable.Memory - taken.Memory;
        long cpu = 0, memory = 0;
        var fits = 0;
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

            cpu += ask.CpuMillis;
            memory += ask.MemoryBytes;
            fits++;
        }

        var cpuLeft = allocatable.Cpu == 0 ? 0 : (double)(freeCpu - cpu) / allocatable.Cpu;
        var memoryLeft = allocatable.Memory == 0 ? 0 : (double)(freeMemory - memory) / allocatable.Memory;
        var stranding = Math.Abs(cpuLeft - memoryLeft);
        var score = Math.Clamp(((cpuLeft + memoryLeft) / 2) - (0.5 * stranding), 0, 1);
        return new NodeOffer
        {
            Node = node,
            Fits = fits,
            Score = score,
            Shortfall = shortfall,
            FreeCpuMillis = freeCpu,
            FreeMemoryBytes = freeMemory,
        };
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
