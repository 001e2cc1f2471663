namespace Nefele.Client;

/// <summary>A supervisor as it is now: its phase, its children in start order, and why it ended.</summary>
[GenerateSerializer, Immutable]
public sealed record SupervisorStatus
{
    /// <summary>The supervisor's name in its tenant.</summary>
    [Id(0)] public required string Name { get; init; }

    /// <summary>Its tenant.</summary>
    [Id(1)] public required string Tenant { get; init; }

    /// <summary>Where it is in its life.</summary>
    [Id(2)] public SupervisorPhase Phase { get; init; }

    /// <summary>Its strategy.</summary>
    [Id(3)] public SupervisorStrategy Strategy { get; init; }

    /// <summary>Its children in start order.</summary>
    [Id(4)] public IReadOnlyList<ChildStatus> Children { get; init; } = [];

    /// <summary>All restarts it made.</summary>
    [Id(5)] public int Restarts { get; init; }

    /// <summary>Why it ended; null while it runs.</summary>
    [Id(6)] public string? EndReason { get; init; }

    /// <summary>Grows with every change; a watch answers once it is past the version the caller saw.</summary>
    [Id(7)] public long Version { get; init; }

    /// <summary>The spec it was started with.</summary>
    [Id(8)] public required SupervisorSpec Spec { get; init; }

    /// <summary>The node whose silo runs the supervisor now (a durable one moves when that node is lost); null for a program-local one.</summary>
    [Id(9)] public string? Node { get; init; }
}
