namespace Nefele.Client;

/// <summary>One tag of an image of a tenant: what it points at and what the image holds.</summary>
[GenerateSerializer, Immutable]
public sealed record ImageInfo
{
    /// <summary>The image's name.</summary>
    [Id(0)] public required string Name { get; init; }

    /// <summary>The tag.</summary>
    [Id(1)] public required string Tag { get; init; }

    /// <summary>The image's digest (<c>sha256:…</c> of its manifest: layer digests and config).</summary>
    [Id(2)] public required string Digest { get; init; }

    /// <summary>The digest of its root filesystem tarball: the top layer when it has several (see <see cref="Layers"/>).</summary>
    [Id(3)] public required string Layer { get; init; }

    /// <summary>The size of all its layers' tarballs in bytes.</summary>
    [Id(4)] public long Size { get; init; }

    /// <summary>Its config.</summary>
    [Id(5)] public ImageConfig Config { get; init; } = new();

    /// <summary>When the tag was set.</summary>
    [Id(6)] public DateTimeOffset CreatedAt { get; init; }

    /// <summary>
    /// Every layer's digest, bottom first: one for a pushed image, the source's layers and then the
    /// committed changes for an image made by a commit.
    /// </summary>
    [Id(7)] public IReadOnlyList<string> Layers { get; init; } = [];
}
