using Nefele.Client;

namespace Nefele.Cli.Transport;

/// <summary>The tenant's images: through the REST API only (hostd's socket has no image calls).</summary>
internal interface IImageTransport
{
    Task<IReadOnlyList<ImageInfo>> ListImagesAsync(CancellationToken ct);

    Task<ImageInfo> InspectImageAsync(string name, string tag, CancellationToken ct);

    /// <summary>Uploads the layer <paramref name="openLayer"/> reads (again on a retry), then tags it with <paramref name="config"/>.</summary>
    Task<ImageInfo> PushImageAsync(string name, string tag, Func<Stream> openLayer, ImageConfig? config, string? digest, CancellationToken ct);

    /// <summary>Tags <paramref name="name"/>:<paramref name="tag"/> as the image process <paramref name="npid"/> runs from plus its development overlay's changes.</summary>
    Task<ImageInfo> CommitImageAsync(string npid, string name, string tag, CancellationToken ct);

    Task DeleteImageAsync(string name, string tag, CancellationToken ct);

    /// <summary>Sets the tenant's default image (<c>NAME:TAG</c>), or clears it with null.</summary>
    Task SetDefaultImageAsync(string? image, CancellationToken ct);
}
