using Nefele.Images;
using Nefele.Validation;

namespace Nefele.Client;

/// <summary>
/// A tenant's images: a root filesystem tarball (one layer, plain or gzip; a committed image adds
/// layers) and a small config,
/// stored on the cluster's shared directory by sha256 and named <c>NAME:TAG</c>. A spawn runs
/// from one with <see cref="ProcessSpec.Image"/>. Names: 1-128 of lowercase letters, digits, '.',
/// '_' or '-' starting with a letter or digit; the tag the same with uppercase letters allowed,
/// <c>latest</c> when none is given.
/// </summary>
public sealed class NefeleImages
{
    private readonly IGrainFactory _grains;
    private readonly string _tenant;

    internal NefeleImages(IGrainFactory grains, string tenant)
    {
        _grains = grains;
        _tenant = tenant;
    }

    /// <summary>
    /// Uploads <paramref name="layer"/> (in parts of 1 MiB) and tags it <paramref name="image"/> with
    /// <paramref name="config"/>, replacing what the tag pointed at. Throws <see cref="NefeleException"/>:
    /// <see cref="ErrorCodes.BadRequest"/> for a bad name (before anything is sent),
    /// <see cref="ErrorCodes.PayloadTooLarge"/> past 2 GiB, <see cref="ErrorCodes.DigestMismatch"/> when
    /// <paramref name="digest"/> is given and the bytes have another; nothing is kept then.
    /// </summary>
    /// <param name="image"><c>NAME[:TAG]</c>.</param>
    /// <param name="layer">The tarball, read to its end.</param>
    /// <param name="config">Default command, env, user, working directory, systemd; null: none.</param>
    /// <param name="digest">The layer's expected <c>sha256:…</c>, or null.</param>
    /// <param name="ct">Cancels the push (what was sent is dropped).</param>
    /// <returns>The tag as stored.</returns>
    public async Task<ImageInfo> PushAsync(string image, Stream layer, ImageConfig? config = null, string? digest = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(layer);
        var reference = ImageReference.Parse(image);
        if (reference.Digest is not null)
        {
            throw NefeleException.Bad($"image '{image}': push names a tag, not a digest");
        }

        var grain = Grain();
        var upload = await grain.BeginUploadAsync(ct);
        UploadedLayer uploaded;
        try
        {
            var buffer = new byte[Limits.ImageUploadChunkBytes];
            long offset = 0;
            while (true)
            {
                var filled = await layer.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, ct);
                if (filled == 0)
                {
                    break;
                }

                await grain.AppendUploadAsync(upload, offset, filled == buffer.Length ? buffer : buffer[..filled], ct);
                offset += filled;
            }

            uploaded = await grain.CompleteUploadAsync(upload, digest, ct);
        }
        catch
        {
            await grain.AbortUploadAsync(upload, CancellationToken.None).ContinueWith(_ => { }, TaskScheduler.Default);
            throw;
        }

        return await grain.TagAsync(reference.Name, reference.Tag, new ImageTagRequest { Layer = uploaded.Digest, Config = config }, ct);
    }

    /// <summary>The tenant's images, one entry per tag, sorted by name and tag.</summary>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>The tags.</returns>
    public async Task<IReadOnlyList<ImageInfo>> ListAsync(CancellationToken ct = default) => (await Grain().ListAsync(ct)).Images;

    /// <summary>One tag; <see cref="ErrorCodes.ImageNotFound"/> when there is none.</summary>
    /// <param name="image"><c>NAME[:TAG]</c>.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>Its digest, layer, size and config.</returns>
    public Task<ImageInfo> GetAsync(string image, CancellationToken ct = default)
    {
        var reference = ImageReference.Parse(image);
        return Grain().InspectAsync(reference.Name, reference.Tag, ct);
    }

    /// <summary>
    /// Tags <paramref name="image"/> as a new image (docker commit's shape): the image the process
    /// <paramref name="npid"/> runs or ran from, plus one layer holding the changes the tenant's
    /// processes made in that image's development overlay on the process's node (files written, and
    /// files deleted as OCI whiteouts), with the source's config. The source image is unchanged.
    /// Throws <see cref="NefeleException"/>: <see cref="ErrorCodes.BadRequest"/> for a bad name (before
    /// anything is sent) or a process that runs from no image, <see cref="ErrorCodes.NpidNotFound"/>,
    /// <see cref="ErrorCodes.NotDevelopmentMode"/> when the node's containers are read-only,
    /// <see cref="ErrorCodes.OverlayNotFound"/> when nothing was written there; nothing is stored then.
    /// </summary>
    /// <param name="npid">A process of the tenant that runs or ran from an image in a development container.</param>
    /// <param name="image">The tag to set, <c>NAME[:TAG]</c>.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>The new tag as stored (its <see cref="ImageInfo.Layers"/> end with the committed one).</returns>
    public Task<ImageInfo> CommitAsync(string npid, string image, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(npid);
        var reference = ImageReference.Parse(image);
        if (reference.Digest is not null)
        {
            throw NefeleException.Bad($"image '{image}': commit names a tag to set, not a digest");
        }

        if (!Names.IsNpid(npid))
        {
            throw NefeleException.Bad($"'{Names.Shorten(npid)}' is not an NPID");
        }

        return Grain().CommitAsync(npid, reference.Name, reference.Tag, ct);
    }

    /// <summary>
    /// Removes a tag; its image and layer go when no other tag uses them. Processes running from it
    /// keep running. <see cref="ErrorCodes.ImageNotFound"/> when there is no such tag.
    /// </summary>
    /// <param name="image"><c>NAME[:TAG]</c>.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>What the tag pointed at.</returns>
    public Task<ImageInfo> DeleteAsync(string image, CancellationToken ct = default)
    {
        var reference = ImageReference.Parse(image);
        return Grain().DeleteAsync(reference.Name, reference.Tag, ct);
    }

    /// <summary>
    /// Sets the image a spawn that names none runs from, or clears it with null (owner). Throws
    /// <see cref="ErrorCodes.ImageNotFound"/> when the tenant has no such image.
    /// </summary>
    /// <param name="image"><c>NAME[:TAG]</c>, or null for none.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>The tenant's record.</returns>
    public Task<TenantInfo> SetDefaultAsync(string? image, CancellationToken ct = default) =>
        _grains.GetGrain<Tenants.ITenantGrain>(_tenant).SetDefaultImageAsync(image, ct);

    private IImageGrain Grain() => _grains.GetGrain<IImageGrain>(_tenant);
}
