namespace Nefele.Client;

/// <summary>The images of a tenant, one entry per tag, sorted by name and tag.</summary>
[GenerateSerializer, Immutable]
public sealed record ImageList
{
    /// <summary>The tags.</summary>
    [Id(0)] public IReadOnlyList<ImageInfo> Images { get; init; } = [];
}
