using Nefele.Auth;
using Nefele.Client;

namespace Nefele.Images;

/// <summary>
/// One tenant's images (keyed by the tenant name), a door to the store on the shared directory for
/// clients of the cluster: the SDK pushes a layer in parts of <see cref="Validation.Limits.ImageUploadChunkBytes"/>,
/// then tags it. Any silo serves any call: the store is the shared directory, not the grain.
/// </summary>
public interface IImageGrain : IGrainWithStringKey
{
    /// <summary>The tenant's images, one entry per tag.</summary>
    [Access(Role.Viewer, TenantFrom.GrainKey)]
    Task<ImageList> ListAsync(CancellationToken ct = default);

    /// <summary>One tag; image_not_found when there is none.</summary>
    [Access(Role.Viewer, TenantFrom.GrainKey)]
    Task<ImageInfo> InspectAsync(string name, string tag, CancellationToken ct = default);

    /// <summary>Starts an upload of a layer; answers its id.</summary>
    [Access(Role.Member, TenantFrom.GrainKey)]
    Task<string> BeginUploadAsync(CancellationToken ct = default);

    /// <summary>Appends a part at <paramref name="offset"/> (a retried part changes nothing).</summary>
    [Access(Role.Member, TenantFrom.GrainKey)]
    Task AppendUploadAsync(string upload, long offset, byte[] chunk, CancellationToken ct = default);

    /// <summary>Stores the upload (digest_mismatch when <paramref name="digest"/> is given and differs: nothing stored).</summary>
    [Access(Role.Member, TenantFrom.GrainKey)]
    Task<UploadedLayer> CompleteUploadAsync(string upload, string? digest, CancellationToken ct = default);

    /// <summary>Drops an unfinished upload.</summary>
    [Access(Role.Member, TenantFrom.GrainKey)]
    Task AbortUploadAsync(string upload, CancellationToken ct = default);

    /// <summary>Points a tag at the image of an uploaded layer and a config.</summary>
    [Access(Role.Member, TenantFrom.GrainKey)]
    Task<ImageInfo> TagAsync(string name, string tag, ImageTagRequest request, CancellationToken ct = default);

    /// <summary>
    /// <c>nefele commit</c>: points <paramref name="name"/>:<paramref name="tag"/> at a new image made of
    /// the image the process <paramref name="npid"/> runs (or ran) from and, as one more layer, the
    /// changes its tenant's processes made in that image's development overlay on the process's node.
    /// npid_not_found, bad_request (the process runs from no image, or a bad name), not_development_mode,
    /// overlay_not_found; nothing is stored then.
    /// </summary>
    [Access(Role.Member, TenantFrom.GrainKey)]
    Task<ImageInfo> CommitAsync(string npid, string name, string tag, CancellationToken ct = default);

    /// <summary>Removes a tag (and the blobs no other tag uses); answers what it pointed at.</summary>
    [Access(Role.Member, TenantFrom.GrainKey)]
    Task<ImageInfo> DeleteAsync(string name, string tag, CancellationToken ct = default);
}
