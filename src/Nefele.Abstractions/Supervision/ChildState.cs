namespace Nefele.Supervision;

/// <summary>One child slot of a supervisor, as the supervisor keeps (and the grain persists) it.</summary>
[GenerateSerializer]
public sealed class ChildState
{
    /// <summary>The child's id; a pool's children are "template-N".</summary>
    [Id(0)] public string Id { get; set; } = string.Empty;

    /// <summary>The index of its spec in the supervisor's children (0 for every child of a pool).</summary>
    [Id(1)] public int SpecIndex { get; set; }

    /// <summary>Its NPID (or nested supervisor's reference) while it runs or is still being stopped; null otherwise.</summary>
    [Id(2)] public string? Reference { get; set; }

    /// <summary>
    /// Where it is. No initializer: grain storage may leave out a property at its type's default
    /// (Running), and an initializer would then read it back as something else.
    /// </summary>
    [Id(3)] public Client.ChildPhase Phase { get; set; }

    [Id(4)] public int Restarts { get; set; }

    /// <summary>The spawn request id of the start under way: a start retried after a failover answers the same process.</summary>
    [Id(5)] public string? StartRequest { get; set; }

    [Id(6)] public string? LastEnd { get; set; }
}
