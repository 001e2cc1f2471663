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

    public Task<ImageInfo> DeleteAsync(string name, string tag, CancellationToken ct = default) =>
        Task.FromResult(store.Delete(Tenant, name, tag));
}
