using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Nefele.Client;
using Nefele.Shared;
using Nefele.Validation;

namespace Nefele.Images;

/// <summary>
/// The tenants' images on the shared directory: layers (root filesystem tarballs) and manifests
/// (layer digest, size and config as JSON) stored by their sha256, and tags that point at
/// manifests. Every file appears whole, by a rename from <c>uploads/</c> on the same filesystem,
/// so a reader on any node sees a blob or tag entirely or not at all, and two nodes storing the
/// same content store the same file. The one implementation behind the REST routes, the SDK's
/// grain and admission (which pins a spawn's image to a digest).
/// </summary>
public sealed class ImageStore(IOptions<ImageStoreOptions> options)
{
    private readonly string _root = SharedDirectory.Resolve(options.Value.Directory);

    /// <summary>The shared directory in use.</summary>
    public string Directory => _root;

    /// <summary>
    /// Stores a layer from <paramref name="body"/> as it arrives; nothing is kept unless all of it
    /// came, within <see cref="Limits.MaxImageLayerBytes"/> (payload_too_large) and with
    /// <paramref name="expectedDigest"/> when given (digest_mismatch).
    /// </summary>
    public async Task<UploadedLayer> WriteLayerAsync(string tenant, Stream body, string? expectedDigest, CancellationToken ct)
    {
        CheckDigestArgument(expectedDigest);
        var temp = NewUpload(tenant);
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long size = 0;
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                var buffer = new byte[1 << 16];
                int n;
                while ((n = await body.ReadAsync(buffer, ct)) > 0)
                {
                    size += n;
                    if (size > Limits.MaxImageLayerBytes)
                    {
                        throw TooLarge(size);
                    }

                    hash.AppendData(buffer, 0, n);
                    await file.WriteAsync(buffer.AsMemory(0, n), ct);
                }
            }

            return Commit(tenant, temp, Digests.Of(hash), size, expectedDigest);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>Starts an upload in parts (the SDK's path: one grain call per part); answers its id.</summary>
    public string BeginUpload(string tenant)
    {
        var temp = NewUpload(tenant);
        File.WriteAllBytes(temp, []);
        return Path.GetFileName(temp);
    }

    /// <summary>
    /// Appends <paramref name="chunk"/> at <paramref name="offset"/>. A retried part (the file already
    /// holds it) changes nothing; a gap or overlap is bad_request.
    /// </summary>
    public async Task AppendUploadAsync(string tenant, string upload, long offset, ReadOnlyMemory<byte> chunk, CancellationToken ct)
    {
        var path = UploadPath(tenant, upload);
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
        if (file.Length == offset + chunk.Length && chunk.Length > 0)
        {
            return;
        }

        if (file.Length != offset)
        {
            throw NefeleException.Bad($"upload {upload}: a part at offset {offset} does not follow the {file.Length} bytes received");
        }

        if (offset + chunk.Length > Limits.MaxImageLayerBytes)
        {
            throw TooLarge(offset + chunk.Length);
        }

        file.Position = offset;
        await file.WriteAsync(chunk, ct);
    }

    /// <summary>Ends an upload in parts: checks its digest (when given) and stores it, or drops it.</summary>
    public async Task<UploadedLayer> CompleteUploadAsync(string tenant, string upload, string? expectedDigest, CancellationToken ct)
    {
        CheckDigestArgument(expectedDigest);
        var path = UploadPath(tenant, upload);
        try
        {
            string digest;
            long size;
            await using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true))
            {
                size = file.Length;
                digest = Digests.Prefix + Convert.ToHexStringLower(await SHA256.HashDataAsync(file, ct));
            }

            return Commit(tenant, path, digest, size, expectedDigest);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Drops an upload if it is still there (completed ones are gone already).</summary>
    public void DiscardUpload(string tenant, string upload) => File.Delete(SharedDirectory.Upload(_root, tenant, upload));

    /// <summary>Drops an unfinished upload.</summary>
    public void AbortUpload(string tenant, string upload) => File.Delete(UploadPath(tenant, upload));

    /// <summary>
    /// Points <paramref name="name"/>:<paramref name="tag"/> at the image made of the stored layer and
    /// the config (replacing what the tag pointed at before, as docker does).
    /// </summary>
    public ImageInfo Tag(string tenant, string name, string tag, ImageTagRequest request)
    {
        ImageReference.Validate(name, tag);
        if (!Digests.IsSha256(request.Layer))
        {
            throw NefeleException.Bad($"layer '{Names.Shorten(request.Layer)}' is not a digest: give the sha256:<64 hex> an upload answered");
        }

        var layer = SharedDirectory.Blob(_root, tenant, request.Layer);
        if (!File.Exists(layer))
        {
            throw new NefeleException(ErrorCodes.ImageNotFound, $"no layer {request.Layer} was uploaded to tenant {tenant}: upload the tarball first");
        }

        var config = request.Config ?? new ImageConfig();
        CheckConfig(config);
        return SetTag(tenant, name, tag, new ImageManifest(request.Layer, new FileInfo(layer).Length, config));
    }

    /// <summary>
    /// Points <paramref name="name"/>:<paramref name="tag"/> at a new image: <paramref name="source"/>'s
    /// layers (it is pinned, and must still be stored), then <paramref name="changes"/> (a stored layer,
    /// the packed development overlay), with the source's config. Replaces what the tag pointed at.
    /// </summary>
    public ImageInfo TagCommit(string tenant, string name, string tag, ImageReference source, UploadedLayer changes)
    {
        ImageReference.Validate(name, tag);
        if (source.Digest is null || ReadManifest(tenant, source.Digest) is not { } manifest)
        {
            throw NotFound(tenant, source.ToString());
        }

        if (!File.Exists(SharedDirectory.Blob(_root, tenant, changes.Digest)))
        {
            throw new NefeleException(ErrorCodes.ImageNotFound, $"no layer {changes.Digest} in tenant {tenant}");
        }

        return SetTag(tenant, name, tag, new ImageManifest(changes.Digest, changes.Size, manifest.Config, manifest.AllLayers()));
    }

    private ImageInfo SetTag(string tenant, string name, string tag, ImageManifest image)
    {
        var manifest = image.ToBytes();
        var digest = Digests.Of(manifest);
        var blob = SharedDirectory.Blob(_root, tenant, digest);
        if (!File.Exists(blob))
        {
            WriteAtomically(tenant, blob, manifest);
        }

        var tagFile = TagPath(tenant, name, tag);
        WriteAtomically(tenant, tagFile, System.Text.Encoding.ASCII.GetBytes(digest + "\n"));
        return Inspect(tenant, name, tag);
    }

    /// <summary>Every tag of the tenant, sorted by name and tag.</summary>
    public ImageList List(string tenant)
    {
        var tags = Path.Combine(SharedDirectory.Images(_root, tenant), "tags");
        if (!System.IO.Directory.Exists(tags))
        {
            return new ImageList();
        }

        var images = new List<ImageInfo>();
        foreach (var nameDir in System.IO.Directory.EnumerateDirectories(tags))
        {
            var name = Path.GetFileName(nameDir);
            foreach (var tagFile in System.IO.Directory.EnumerateFiles(nameDir))
            {
                var tag = Path.GetFileName(tagFile);
                if (ImageReference.IsName(name) && ImageReference.IsTag(tag) && TryRead(tenant, name, tag) is { } info)
                {
                    images.Add(info);
                }
            }
        }

        return new ImageList { Images = [.. images.OrderBy(i => i.Name, StringComparer.Ordinal).ThenBy(i => i.Tag, StringComparer.Ordinal)] };
    }

    /// <summary>One tag; image_not_found when the tenant has no such image.</summary>
    public ImageInfo Inspect(string tenant, string name, string tag)
    {
        ImageReference.Validate(name, tag);
        return TryRead(tenant, name, tag) ?? throw NotFound(tenant, $"{name}:{tag}");
    }

    /// <summary>
    /// The image <paramref name="reference"/> names now: the tag's current digest, or the pinned one
    /// (which must still be stored). image_not_found otherwise.
    /// </summary>
    public ImageInfo Resolve(string tenant, ImageReference reference)
    {
        if (reference.Digest is null)
        {
            return Inspect(tenant, reference.Name, reference.Tag);
        }

        var manifest = ReadManifest(tenant, reference.Digest) ?? throw NotFound(tenant, reference.ToString());
        return Info(reference.Name, reference.Tag, reference.Digest, manifest, default);
    }

    /// <summary>
    /// Removes a tag; the manifest and then each of its layers go too once no tag of the tenant uses
    /// them (image_not_found when there is no such tag). Processes running from the image keep
    /// running: each node keeps its unpacked copy.
    /// </summary>
    public ImageInfo Delete(string tenant, string name, string tag)
    {
        var info = Inspect(tenant, name, tag);
        File.Delete(TagPath(tenant, name, tag));
        var nameDir = Path.GetDirectoryName(TagPath(tenant, name, tag))!;
        if (!System.IO.Directory.EnumerateFileSystemEntries(nameDir).Any())
        {
            try
            {
                System.IO.Directory.Delete(nameDir);
            }
            catch (IOException)
            {
                // A tag of the same name was set meanwhile.
            }
        }

        var remaining = List(tenant).Images;
        if (!remaining.Any(i => i.Digest == info.Digest))
        {
            File.Delete(SharedDirectory.Blob(_root, tenant, info.Digest));
        }

        foreach (var layer in info.Layers)
        {
            if (!remaining.Any(i => i.Layers.Contains(layer, StringComparer.Ordinal)))
            {
                File.Delete(SharedDirectory.Blob(_root, tenant, layer));
            }
        }

        return info;
    }

    private ImageInfo? TryRead(string tenant, string name, string tag)
    {
        var tagFile = TagPath(tenant, name, tag);
        string digest;
        DateTime created;
        try
        {
            digest = File.ReadAllText(tagFile).Trim();
            created = File.GetLastWriteTimeUtc(tagFile);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }

        if (!Digests.IsSha256(digest) || ReadManifest(tenant, digest) is not { } manifest)
        {
            return null;
        }

        return Info(name, tag, digest, manifest, new DateTimeOffset(created, TimeSpan.Zero));
    }

    private static ImageInfo Info(string name, string tag, string digest, ImageManifest manifest, DateTimeOffset created)
    {
        var layers = manifest.AllLayers();
        return new ImageInfo
        {
            Name = name,
            Tag = tag,
            Digest = digest,
            Layer = manifest.Layer,
            Layers = [.. layers.Select(l => l.Digest)],
            Size = layers.Sum(l => l.Size),
            Config = manifest.Config ?? new ImageConfig(),
            CreatedAt = created,
        };
    }

    private ImageManifest? ReadManifest(string tenant, string digest)
    {
        try
        {
            return ImageManifest.Parse(File.ReadAllBytes(SharedDirectory.Blob(_root, tenant, digest)));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    private UploadedLayer Commit(string tenant, string temp, string digest, long size, string? expectedDigest)
    {
        if (expectedDigest is not null && expectedDigest != digest)
        {
            throw new NefeleException(ErrorCodes.DigestMismatch, $"the upload's {size} bytes have digest {digest}, not the {expectedDigest} given; nothing was stored");
        }

        var blob = SharedDirectory.Blob(_root, tenant, digest);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
        if (!File.Exists(blob))
        {
            File.Move(temp, blob, overwrite: true);
        }

        return new UploadedLayer { Digest = digest, Size = size };
    }

    private void WriteAtomically(string tenant, string path, byte[] content)
    {
        var temp = NewUpload(tenant);
        try
        {
            File.WriteAllBytes(temp, content);
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private string NewUpload(string tenant)
    {
        var uploads = SharedDirectory.Uploads(_root, tenant);
        System.IO.Directory.CreateDirectory(uploads);
        return Path.Combine(uploads, Guid.NewGuid().ToString("N"));
    }

    private string UploadPath(string tenant, string upload)
    {
        if (!SharedDirectory.IsUploadId(upload))
        {
            throw NefeleException.Bad($"upload '{Names.Shorten(upload)}' is not an upload id");
        }

        var path = SharedDirectory.Upload(_root, tenant, upload);
        return File.Exists(path) ? path : throw NefeleException.Bad($"no upload {upload} in progress (it was completed or dropped)");
    }

    private string TagPath(string tenant, string name, string tag) =>
        Path.Combine(SharedDirectory.Images(_root, tenant), "tags", name, tag);

    private static void CheckDigestArgument(string? digest)
    {
        if (digest is not null && !Digests.IsSha256(digest))
        {
            throw NefeleException.Bad($"digest '{Names.Shorten(digest)}' is invalid: give sha256: and 64 lowercase hex digits");
        }
    }

    private static void CheckConfig(ImageConfig config)
    {
        if (config.Cmd is null || config.Env is null || config.Cmd.Any(a => a is null || a.Contains('\0', StringComparison.Ordinal)))
        {
            throw NefeleException.Bad("image config: cmd and env must not be null or contain NUL");
        }

        if (config.Cmd.Count > 0 && config.Cmd[0].Length == 0)
        {
            throw NefeleException.Bad("image config: cmd's program is empty");
        }

        foreach (var (key, value) in config.Env)
        {
            if (!Names.IsEnvName(key) || Names.IsReservedEnvName(key) || value is null || value.Contains('\0', StringComparison.Ordinal))
            {
                throw NefeleException.Bad($"image config: env '{Names.Shorten(key)}' is not a variable a process may get (a letter or '_' then letters, digits or '_'; not NEFELE_*; no NUL)");
            }
        }

        if (config.WorkingDir is { Length: > 0 } dir && !Names.IsAbsolutePath(dir))
        {
            throw NefeleException.Bad($"image config: workingDir {Names.Shorten(dir)} is not absolute");
        }
    }

    private static NefeleException TooLarge(long size) =>
        new(ErrorCodes.PayloadTooLarge, $"the layer is over {Limits.MaxImageLayerBytes} bytes (at least {size} sent; the most an image layer may be); nothing was stored");

    private static NefeleException NotFound(string tenant, string what) =>
        new(ErrorCodes.ImageNotFound, $"no image {what} in tenant {tenant}");
}
