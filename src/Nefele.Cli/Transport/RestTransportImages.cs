using System.Net.Http.Headers;
using System.Text.Json;
using Nefele.Cli.Json;
using Nefele.Client;

namespace Nefele.Cli.Transport;

/// <summary>The image routes of the REST API (/v1/tenants/{tenant}/images).</summary>
internal sealed partial class RestTransport : IImageTransport
{
    private string ImagePath(string name, string tag) => tenantPath + "images/" + Uri.EscapeDataString(name) + "/" + Uri.EscapeDataString(tag);

    public async Task<IReadOnlyList<ImageInfo>> ListImagesAsync(CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Get, tenantPath + "images", Repeatable.Yes, ct).ConfigureAwait(false);
        return (await ReadJsonAsync(response, NefJsonContext.Default.ImageList, ct).ConfigureAwait(false)).Images;
    }

    public async Task<ImageInfo> InspectImageAsync(string name, string tag, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Get, ImagePath(name, tag), Repeatable.Yes, ct).ConfigureAwait(false);
        return await ReadJsonAsync(response, NefJsonContext.Default.ImageInfo, ct).ConfigureAwait(false);
    }

    public async Task<ImageInfo> PushImageAsync(string name, string tag, Func<Stream> openLayer, ImageConfig? config, string? digest, CancellationToken ct)
    {
        // The layer streams from the file (HttpClient, not the one-shot exchange, which buffers a body);
        // storing the same bytes twice stores one blob, so a retry elsewhere changes nothing.
        var layerPath = tenantPath + "images/layers" + (digest is null ? string.Empty : "?digest=" + Uri.EscapeDataString(digest));
        UploadedLayer layer;
        using (var uploaded = await SendAsync(HttpMethod.Post, layerPath, Repeatable.Yes, ct, () => Layer(openLayer()), streamed: true).ConfigureAwait(false))
        {
            layer = await ReadJsonAsync(uploaded, NefJsonContext.Default.UploadedLayer, ct).ConfigureAwait(false);
        }

        var json = JsonSerializer.SerializeToUtf8Bytes(new ImageTagRequest { Layer = layer.Digest, Config = config }, NefJsonContext.Default.ImageTagRequest);
        using var tagged = await SendAsync(HttpMethod.Put, ImagePath(name, tag), Repeatable.Yes, ct, () => Json(json)).ConfigureAwait(false);
        return await ReadJsonAsync(tagged, NefJsonContext.Default.ImageInfo, ct).ConfigureAwait(false);
    }

    public async Task<ImageInfo> CommitImageAsync(string npid, string name, string tag, CancellationToken ct)
    {
        // Repeating it would only pack the same overlay again and set the tag again.
        var json = JsonSerializer.SerializeToUtf8Bytes(new ImageCommitRequest { Npid = npid }, NefJsonContext.Default.ImageCommitRequest);
        using var response = await SendAsync(HttpMethod.Post, ImagePath(name, tag) + "/commit", Repeatable.Yes, ct, () => Json(json)).ConfigureAwait(false);
        return await ReadJsonAsync(response, NefJsonContext.Default.ImageInfo, ct).ConfigureAwait(false);
    }

    public async Task DeleteImageAsync(string name, string tag, CancellationToken ct)
    {
        // Not repeated once it may have arrived: a second delete is image_not_found.
        using var response = await SendAsync(HttpMethod.Delete, ImagePath(name, tag), Repeatable.No, ct).ConfigureAwait(false);
    }

    public async Task SetDefaultImageAsync(string? image, CancellationToken ct)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(new DefaultImageDto(image), NefJsonContext.Default.DefaultImageDto);
        using var response = await SendAsync(HttpMethod.Put, tenantPath + "default-image", Repeatable.Yes, ct, () => Json(json)).ConfigureAwait(false);
    }

    private static StreamContent Layer(Stream stream)
    {
        var content = new StreamContent(stream, 1 << 16);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        if (stream.CanSeek)
        {
            content.Headers.ContentLength = stream.Length;
        }

        return content;
    }
}
