using Nefele.Client;

namespace Nefele.Placement;

/// <summary>
/// A node's answer to "could you take these tasks?": how many fit, its self-score
/// (higher is better), and when none fit, which resource was short and how much was free.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record NodeOffer
{
    [Id(0)] public required string Node { get; init; }
    [Id(1)] public required int Fits { get; init; }
    [Id(2)] public double Score { get; init; }
    [Id(3)] public string? Shortfall { get; init; }
    [Id(4)] public long FreeCpuMillis { get; init; }
    [Id(5)] public long FreeMemoryBytes { get; init; }

    /// <summary>Devices still free here, by name (declared less reserved).</summary>
    [Id(6)] public IReadOnlyDictionary<string, long> FreeDevices { get; init; } = new Dictionary<string, long>();

    /// <summary>Measured CPU load of the node, 0..1 (0 when not measured).</summary>
    [Id(7)] public double CpuLoad { get; init; }
}
