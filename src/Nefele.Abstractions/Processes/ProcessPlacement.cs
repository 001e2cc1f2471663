namespace Nefele.Client;

/// <summary>Where a process runs and what it runs: its node and its spec as admitted (an image pinned to a digest).</summary>
[GenerateSerializer, Immutable]
public sealed record ProcessPlacement
{
    /// <summary>The node it was placed on.</summary>
    [Id(0)] public required string Node { get; init; }

    /// <summary>Its spec as admitted.</summary>
    [Id(1)] public required ProcessSpec Spec { get; init; }
}
