namespace Nefele.Nodes;

/// <summary>
/// A hollow node's declaration: a node grain with this capacity whose launches are recorded,
/// never forked (as Kubernetes' kubemark), so placement can be exercised with thousands of
/// nodes on one machine. Names are always "hollow-&lt;n&gt;".
/// </summary>
[GenerateSerializer, Immutable]
public sealed record HollowNode
{
    public const string Prefix = "hollow-";

    [Id(0)] public required string Name { get; init; }
    [Id(1)] public long CpuMillis { get; init; }
    [Id(2)] public long MemoryBytes { get; init; }
    [Id(3)] public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
    [Id(4)] public IReadOnlyDictionary<string, long> Devices { get; init; } = new Dictionary<string, long>();

    /// <summary>A simulated measured CPU load, 0..1, which scoring uses as it would a real node's.</summary>
    [Id(5)] public double CpuLoad { get; init; }

    public static bool IsHollow(string node) => node.StartsWith(Prefix, StringComparison.Ordinal);
}
