using System.Text.Json;
using System.Text.Json.Serialization;
using Nefele.Client;

namespace Nefele.Images;

/// <summary>
/// What an image digest names: its layer (a root filesystem tarball, by digest), the layer's size
/// and the config, stored as JSON in the tenant's blobs under the sha256 of these bytes. The silo
/// writes it; hostd reads it to find the layer to unpack.
/// </summary>
/// <param name="Layer">The layer's digest.</param>
/// <param name="Size">The layer's size in bytes.</param>
/// <param name="Config">The image's config.</param>
public sealed record ImageManifest(string Layer, long Size, ImageConfig? Config)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>The stored form, whose sha256 is the image digest.</summary>
    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this, Json);

    /// <summary>A stored manifest, or null when the bytes are not one.</summary>
    public static ImageManifest? Parse(ReadOnlySpan<byte> bytes)
    {
        try
        {
            var manifest = JsonSerializer.Deserialize<ImageManifest>(bytes, Json);
            return manifest is not null && Digests.IsSha256(manifest.Layer) ? manifest : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
