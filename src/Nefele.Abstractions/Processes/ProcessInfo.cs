namespace Nefele.Client;

/// <summary>One process as ps shows it.</summary>
[GenerateSerializer, Immutable]
public sealed record ProcessInfo
{
    [Id(0)] public required string Npid { get; init; }
    [Id(1)] public required string Tenant { get; init; }
    [Id(2)] public string? Node { get; init; }
    [Id(3)] public int Pid { get; init; }
    [Id(4)] public required ProcessState State { get; init; }
    [Id(5)] public long CpuMillis { get; init; }
    [Id(6)] public long MemoryBytes { get; init; }
    [Id(7)] public DateTimeOffset CreatedAt { get; init; }
    [Id(8)] public DateTimeOffset? StartedAt { get; init; }
    [Id(9)] public required string Command { get; init; }
    [Id(10)] public string? Name { get; init; }
    [Id(11)] public long CpuUsageNs { get; init; }
    [Id(12)] public long MemoryUsageBytes { get; init; }
    [Id(13)] public ProcessEnd? End { get; init; }

    /// <summary>How many transitions the process has made (the Seq of its latest event).</summary>
    [Id(14)] public long Seq { get; init; }
}
