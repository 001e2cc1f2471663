using Nefele.Processes;

namespace Nefele.Client;

/// <summary>
/// One spawn, nspawn or cspawn: Tasks holds one spec repeated Count times (nspawn; spawn is Count 1)
/// or several different specs (cspawn, Count 1).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record SpawnRequest
{
    /// <summary>The specs: one (repeated <see cref="Count"/> times) or several (each once).</summary>
    [Id(0)] public required IReadOnlyList<ProcessSpec> Tasks { get; init; }
    /// <summary>How many copies of a single spec; 1 for spawn and cspawn.</summary>
    [Id(1)] public int Count { get; init; } = 1;

    /// <summary>Admit as many tasks as fit instead of all or nothing.</summary>
    [Id(2)] public bool AllowPartial { get; init; }

    /// <summary>
    /// The process that asked, when a Nefele process spawns (its parent), else null. Set by the door
    /// the request came through (hostd's process socket), never by a JSON body.
    /// </summary>
    [Id(3)]
    [System.Text.Json.Serialization.JsonIgnore]
    public string? Parent { get; init; }

    /// <summary>Put the tasks on distinct nodes as far as the sampled nodes allow (round-robin over the best ones).</summary>
    [Id(4)] public bool Spread { get; init; }

    /// <summary>Client-chosen id that makes retries idempotent (1-128 characters, no '/'); one is made when absent.</summary>
    [Id(5)] public string? RequestId { get; init; }

    /// <summary>Every task, expanded: Count copies of a single spec, or the list as given.</summary>
    public IReadOnlyList<ProcessSpec> Expand() =>
        Tasks.Count == 1 ? Enumerable.Repeat(Tasks[0], Math.Max(Count, 1)).ToArray() : Tasks;
}
