namespace Nefele.Client;

/// <summary>The NPIDs a request created, in task order; each Running when it returns, or listed in <see cref="FailedToStart"/>.</summary>
[GenerateSerializer, Immutable]
public sealed record SpawnResult
{
    /// <summary>The processes created, in task order.</summary>
    [Id(0)] public required IReadOnlyList<string> Npids { get; init; }

    /// <summary>Why tasks were left out (partial acceptance only), one per missing task.</summary>
    [Id(1)] public IReadOnlyList<string> Rejected { get; init; } = [];

    /// <summary>
    /// The NPIDs of <see cref="Npids"/> whose program ran but never became a Nefele process
    /// (state FailedToStart), each with the reason; empty when all are Running.
    /// </summary>
    [Id(2)] public IReadOnlyDictionary<string, string> FailedToStart { get; init; } = new Dictionary<string, string>();
}
