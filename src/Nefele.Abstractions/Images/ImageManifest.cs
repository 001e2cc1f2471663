using System.Text.Json;
using System.Text.Json.Serialization;
using Nefele.Client;

namespace Nefele.Images;

/// <summary>
/// What an image digest names: its top layer (a root filesystem tarball, by digest), that layer's
/// size, the config, and the layers beneath it when there are any (a committed image: its source's
/// layers, then the development overlay's changes as an OCI layer with <c>.wh.</c> whiteouts),
/// stored as JSON in the tenant's blobs under the sha256 of these bytes. The silo writes it; hostd
/// reads it to find the layers to unpack. A one-layer image has no <c>lower</c> member, so its
/// bytes (and digest) are as they were before images had several layers.
/// </summary>
/// <param name="Layer">The top layer's digest.</param>
/// <param name="Size">The top layer's size in bytes.</param>
/// <param name="Config">The image's config.</param>
/// <param name="Lower">The layers beneath <paramref name="Layer"/>, bottom first; null: none.</param>
public sealed record ImageManifest(string Layer, long Size, ImageConfig? Config, IReadOnlyList<UploadedLayer>? Lower = null)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Every layer, bottom first (the order they are applied in).</summary>
    public IReadOnlyList<UploadedLayer> AllLayers() =>
        [.. Lower ?? [], new UploadedLayer { Digest = Layer, Size = Size }];

    /// <summary>The stored form, whose sha256 is the image digest.</summary>
    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this, Json);

    /// <summary>A stored manifest, or null when the bytes are not one.</summary>
    public static ImageManifest? Parse(ReadOnlySpan<byte> bytes)
    {
        try
        {
            var manifest = JsonSerializer.Deserialize<ImageManifest>(bytes, Json);
            return manifest is not null && Digests.IsSha256(manifest.Layer) && (manifest.Lower ?? []).All(l => l is not null && Digests.IsSha256(l.Digest))
                ? manifest
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
