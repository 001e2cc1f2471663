using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Nefele.Client;
using Nefele.HostAgent.Containers;
using Nefele.HostAgent.Engines;
using Nefele.Images;
using Nefele.Protocol.V1;
using Nefele.Shared;

namespace Nefele.HostAgent.Images;

/// <summary>
/// hostd's part of <c>nefele commit</c> (CommitRequest): finds the development overlay of a tenant's
/// container of an image on this node and packs its upper dir (<see cref="OverlayLayer"/>) into the
/// upload the silo began in the tenant's image store. It writes nothing else: the silo checks the
/// digest, stores the layer and tags the image (the store's layout stays the silo's). The overlay is
/// read as it is; a process writing meanwhile may or may not see its write in the layer.
/// </summary>
public sealed class OverlayCommitter(HostAgentOptions options, ImageCache images, ContainerManager containers, ILogger<OverlayCommitter> logger)
{
    /// <summary>Packs the overlay; answers the layer's digest and size, or the error to send.</summary>
    public async Task<(CommitReply? Reply, Error? Error)> CommitAsync(CommitRequest request, CancellationToken ct)
    {
        if (!Validation.Names.IsTenantName(request.Tenant) || !SharedDirectory.IsUploadId(request.Upload)
            || !ImageReference.TryParse(request.Image, out var reference) || reference.Digest is null)
        {
            return Fail(ErrorCodes.BadRequest, "commit: give a tenant, a pinned image (NAME:TAG@sha256:…) and an upload id");
        }

        if (!options.Containers.Enabled || options.Containers.ParsedMode != ContainerMode.Development)
        {
            return Fail(ErrorCodes.NotDevelopmentMode,
                $"node {options.Node} runs tenant containers in production mode (read-only roots, --container-mode production): there is no overlay of {reference.Name}:{reference.Tag} to commit; run a node with --container-mode development");
        }

        string root;
        try
        {
            root = await images.RootPathAsync(request.Tenant, request.Image, ct);
        }
        catch (SpawnRejectedException e)
        {
            return Fail(e.Code ?? ErrorCodes.ImageNotFound, e.Message.Replace("spawn rejected: ", "commit: ", StringComparison.Ordinal));
        }

        var upper = containers.UpperDirectory(request.Tenant, root);
        if (!Directory.Exists(upper) || !Directory.EnumerateFileSystemEntries(upper).Any())
        {
            return Fail(ErrorCodes.OverlayNotFound,
                $"node {options.Node} has no changes of tenant {request.Tenant} to image {reference.Name}:{reference.Tag}: no process of it wrote in a container of that image there yet");
        }

        var upload = SharedDirectory.Upload(options.SharedDirectory, request.Tenant, request.Upload);
        if (!File.Exists(upload))
        {
            return Fail(ErrorCodes.BadRequest, $"commit: upload {request.Upload} of tenant {request.Tenant} is not in the shared directory {options.SharedDirectory} of node {options.Node} (is --shared-dir the same mount on every node?)");
        }

        var started = Stopwatch.GetTimestamp();
        try
        {
            var (digest, size) = await OverlayLayer.PackAsync(upper, upload, ct);
            logger.LogInformation("Packed the overlay of tenant {Tenant} on image {Image}: {Size} bytes, {Digest}, in {Ms:F0} ms",
                request.Tenant, reference, size, digest, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return (new CommitReply { Digest = digest, Size = size }, null);
        }
        catch (IOException e)
        {
            return Fail(ErrorCodes.InternalError, $"commit: packing the overlay of image {reference.Name}:{reference.Tag} on node {options.Node} failed: {e.Message}");
        }
    }

    private static (CommitReply?, Error?) Fail(string code, string message) => (null, new Error { Code = code, Message = message });
}
