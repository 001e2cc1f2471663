namespace Nefele.Nodes;

/// <summary>What hostd reported for a launch: Running with a pid, or failed to start with a reason.</summary>
[GenerateSerializer, Immutable]
public sealed record LaunchOutcome
{
    [Id(0)] public bool Started { get; init; }
    [Id(1)] public int Pid { get; init; }
    [Id(2)] public DateTimeOffset StartedAt { get; init; }
    [Id(3)] public string? FailureReason { get; init; }
    /// <summary>The tenant container it runs in; null on the host.</summary>
    [Id(4)] public string? Container { get; init; }
}
