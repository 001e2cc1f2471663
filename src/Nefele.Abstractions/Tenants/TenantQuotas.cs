namespace Nefele.Client;

/// <summary>
/// What one tenant may hold at once across the cluster, and how fast it may spawn. 0 means no
/// limit. Checked at admission, before anything is placed; a refusal names the quota.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record TenantQuotas
{
    /// <summary>Sum of the live processes' CPU requests, in millicores.</summary>
    [Id(0)] public long CpuMillis { get; init; }

    /// <summary>Sum of the live processes' memory limits, in bytes.</summary>
    [Id(1)] public long MemoryBytes { get; init; }

    /// <summary>Live processes.</summary>
    [Id(2)] public int Processes { get; init; }

    /// <summary>Processes started per second, averaged over one second (a token bucket of this size).</summary>
    [Id(3)] public int SpawnsPerSecond { get; init; }
}
