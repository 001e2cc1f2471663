namespace Nefele.Client;

/// <summary>The NPIDs a request created, in task order; all Running when it returns.</summary>
[GenerateSerializer, Immutable]
public sealed record SpawnResult
{
    [Id(0)] public required IReadOnlyList<string> Npids { get; init; }

    /// <summary>Why tasks were left out (partial acceptance only), one per missing task.</summary>
    [Id(1)] public IReadOnlyList<string> Rejected { get; init; } = [];
}
