namespace Nefele.Client;

/// <summary>A registered name, service id ("#80") or topic, with its holders in registration order.</summary>
[GenerateSerializer, Immutable]
public sealed record NameEntry
{
    /// <summary>The name, "#&lt;id&gt;", or the topic.</summary>
    [Id(0)] public required string Name { get; init; }

    /// <summary>Holders (subscribers, for a topic), first registered first. Several form a group.</summary>
    [Id(1)] public required IReadOnlyList<NameHolder> Holders { get; init; }
}
