namespace Nefele.Client;

/// <summary>A stored root filesystem tarball: its digest and size.</summary>
[GenerateSerializer, Immutable]
public sealed record UploadedLayer
{
    /// <summary><c>sha256:…</c> of the bytes stored.</summary>
    [Id(0)] public required string Digest { get; init; }

    /// <summary>Bytes stored.</summary>
    [Id(1)] public long Size { get; init; }
}
