using Nefele.Client;
using Orleans.Concurrency;

namespace Nefele.Images;

/// <summary>The cluster's door to <see cref="ImageStore"/>: on the silo that took the call, which reads and writes the shared directory itself.</summary>
[StatelessWorker]
public sealed class ImageGrain(ImageStore store) : Grain, IImageGrain
{
    private string Tenant => this.GetPrimaryKeyString();

    public Task<ImageList> ListAsync(CancellationToken ct = default) => Task.FromResult(store.List(Tenant));

    public Task<ImageInfo> InspectAsync(string name, string tag, CancellationToken ct = default) => Task.FromResult(store.Inspect(Tenant, name, tag));

    public Task<string> BeginUploadAsync(CancellationToken ct = default) => Task.FromResult(store.BeginUpload(Tenant));

    public Task AppendUploadAsync(string upload, long offset, byte[] chunk, CancellationToken ct = default) =>
        store.AppendUploadAsync(Tenant, upload, offset, chunk, ct);

    public Task<UploadedLayer> CompleteUploadAsync(string upload, string? digest, CancellationToken ct = default) =>
        store.CompleteUploadAsync(Tenant, upload, digest, ct);

    public Task AbortUploadAsync(string upload, CancellationToken ct = default)
    {
        store.AbortUpload(Tenant, upload);
        return Task.CompletedTask;
    }

    public Task<ImageInfo> TagAsync(string name, string tag, ImageTagRequest request, CancellationToken ct = default) =>
        Task.FromResult(store.Tag(Tenant, name, tag, request));

    public async Task<ImageInfo> CommitAsync(string npid, string name, string tag, CancellationToken ct = default)
    {
        ImageReference.Validate(name, tag);
        if (!Validation.Names.IsNpid(npid))
        {
            throw NefeleException.Bad($"commit: '{Validation.Names.Shorten(npid)}' is not an NPID (the process whose image's overlay to commit)");
        }

        var placement = await GrainFactory.GetGrain<Processes.IProcessGrain>(npid).GetPlacementAsync(Tenant, ct)
            ?? throw new NefeleException(ErrorCodes.NpidNotFound, $"no process {npid} in tenant {Tenant} (or it was never placed on a node)");
        if (placement.Spec.Image is not { } image || !ImageReference.TryParse(image, out var source) || source.Digest is null)
        {
            throw NefeleException.Bad($"process {npid} runs from no image (it runs on its node's host): only a process from an image, in a development container, has changes to commit");
        }

        store.Resolve(Tenant, source);

        // hostd fills an upload this store began (the layout stays the store's), the store checks
        // the digest hostd computed and keeps the layer, then the tag is set: a failure before the
        // tag leaves at most an unreferenced blob, never a changed tag.
        var upload = store.BeginUpload(Tenant);
        try
        {
            var packed = await GrainFactory.GetGrain<Nodes.INodeGrain>(placement.Node).PackOverlayAsync(Tenant, image, upload);
            var layer = await store.CompleteUploadAsync(Tenant, upload, packed.Digest, ct);
            return store.TagCommit(Tenant, name, tag, source, layer);
        }
        finally
        {
            store.DiscardUpload(Tenant, upload);
        }
    }

    public Task<ImageInfo> DeleteAsync(string name, string tag, CancellationToken ct = default) =>
        Task.FromResult(store.Delete(Tenant, name, tag));
}
