using Nefele.Processes;

namespace Nefele.Placement;

/// <summary>
/// One spawn, nspawn or cspawn: Tasks holds one spec repeated Count times (nspawn; spawn is Count 1)
/// or several different specs (cspawn, Count 1).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record SpawnRequest
{
    [Id(0)] public required IReadOnlyList<ProcessSpec> Tasks { get; init; }
    [Id(1)] public int Count { get; init; } = 1;

    /// <summary>Admit as many tasks as fit instead of all or nothing.</summary>
    [Id(2)] public bool AllowPartial { get; init; }

    /// <summary>The process that asked, when a Nefele process spawns (its parent), else null.</summary>
    [Id(3)] public string? Parent { get; init; }

    /// <summary>Put the tasks on distinct nodes as far as the sampled nodes allow (round-robin over the best ones).</summary>
    [Id(4)] public bool Spread { get; init; }

    /// <summary>Every task, expanded: Count copies of a single spec, or the list as given.</summary>
    public IReadOnlyList<ProcessSpec> Expand() =>
        Tasks.Count == 1 ? Enumerable.Repeat(Tasks[0], Math.Max(Count, 1)).ToArray() : Tasks;
}
