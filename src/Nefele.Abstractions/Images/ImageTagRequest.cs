namespace Nefele.Client;

/// <summary>Points a tag at an image made of an uploaded layer and a config (the second step of a push).</summary>
[GenerateSerializer, Immutable]
public sealed record ImageTagRequest
{
    /// <summary>The digest an upload of the root filesystem tarball answered.</summary>
    [Id(0)] public required string Layer { get; init; }

    /// <summary>The image's config; null: an empty one.</summary>
    [Id(1)] public ImageConfig? Config { get; init; }
}
