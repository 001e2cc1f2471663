namespace Nefele.Silo.Api;

/// <summary>Body of POST /v1/hollow-nodes: how many hollow nodes to add, and what each declares.</summary>
public sealed record HollowNodesBody
{
    public int Count { get; init; } = 1;

    public long CpuMillis { get; init; }

    public long MemoryBytes { get; init; }

    public Dictionary<string, string> Labels { get; init; } = [];

    public Dictionary<string, long> Devices { get; init; } = [];

    /// <summary>A simulated measured CPU load, 0..1 (default 0).</summary>
    public double CpuLoad { get; init; }
}
