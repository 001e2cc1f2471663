using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Nefele.Client;
using Nefele.HostAgent.Engines;
using Nefele.Images;
using Nefele.Shared;

namespace Nefele.HostAgent.Images;

/// <summary>
/// This node's unpacked image roots: <c>&lt;image-cache&gt;/&lt;hex&gt;/rootfs</c>, one per layer digest
/// (for an image of several layers, per chain: see <see cref="CacheKey"/>), unpacked once from the
/// shared directory's blobs (their sha256 checked first) into a temporary directory and renamed
/// into place whole, so a root that exists is complete. Layers are applied bottom first, each one's
/// OCI whiteouts (<c>.wh.NAME</c> removes NAME from the layers below, <c>.wh..wh..opq</c> empties its
/// directory of them) before its files. Concurrent launches of one image wait for the same unpack.
/// The root holds the mount points a process from it needs (<see cref="MountPoints"/>), made while unpacking.
/// </summary>
/// <remarks>
/// Each root handed out is leased (<see cref="RootAsync"/>) until its process is forgotten
/// (<see cref="Release"/>). <see cref="Evict"/> removes the unpacked roots that no lease, no
/// running container and no tag of any tenant in the shared directory's store references any more;
/// <see cref="ImageCacheSweeper"/> calls it periodically (<c>--image-cache-sweep</c>).
/// </remarks>
public sealed class ImageCache(HostAgentOptions options, ILogger<ImageCache> logger)
{
    /// <summary>The node's devices every process in an image gets, bound at the same paths (a root needs no device nodes of its own).</summary>
    public static readonly IReadOnlyList<string> DeviceNodes = ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"];

    /// <summary>Files and directories every unpacked root gets, for what hostd binds into it.</summary>
    public static readonly IReadOnlyList<(string Path, bool Directory)> MountPoints =
    [
        (ProcessPaths.ContainerApiSocket, false),
        (ProcessPaths.ContainerShim, false),
        (SharedDirectory.ContainerPath, true),
        ("/tmp", true),
        .. DeviceNodes.Select(d => (d, false)),
    ];

    private const string EvictingPrefix = ".evict-";
    private const string UnpackingPrefix = ".unpack-";

    // Unpacks under way, by cache key (see CacheKey).
    private readonly ConcurrentDictionary<string, Lazy<Task<string>>> _unpacking = new(StringComparer.Ordinal);

    // Roots handed out and not yet released, with their counts; guarded by _gate, as is the check that a root exists.
    private readonly Dictionary<string, int> _leases = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>
    /// The unpacked root of <paramref name="image"/> (pinned, <c>NAME:TAG@sha256:…</c>) of <paramref name="tenant"/>,
    /// leased to the caller: it is not evicted until <see cref="Release"/>.
    /// </summary>
    /// <exception cref="SpawnRejectedException">The image is not pinned, not in the shared directory, or does not unpack.</exception>
    public async Task<string> RootAsync(string tenant, string image, CancellationToken ct)
    {
        var (reference, manifest) = await ManifestAsync(tenant, image, ct);
        var layers = manifest.AllLayers();
        var key = CacheKey(layers);
        var root = RootOf(key);

        // Unpacked, or unpacked again when an eviction took it between the unpack and the lease.
        while (!TryLease(root))
        {
            var unpack = _unpacking.GetOrAdd(key, k => new Lazy<Task<string>>(() => Task.Run(() => Unpack(tenant, reference, layers, k))));
            try
            {
                await unpack.Value.WaitAsync(ct);
            }
            finally
            {
                if (unpack.Value.IsCompleted)
                {
                    _unpacking.TryRemove(new KeyValuePair<string, Lazy<Task<string>>>(key, unpack));
                }
            }
        }

        return root;
    }

    /// <summary>
    /// Where the root of <paramref name="image"/> (pinned) of <paramref name="tenant"/> is or would be
    /// unpacked on this node, without unpacking it: the path a container of it is keyed by.
    /// </summary>
    /// <exception cref="SpawnRejectedException">The image is not pinned or not in the shared directory.</exception>
    public async Task<string> RootPathAsync(string tenant, string image, CancellationToken ct) =>
        RootOf(CacheKey((await ManifestAsync(tenant, image, ct)).Manifest.AllLayers()));

    /// <summary>
    /// The directory name of an image's root in the cache: a one-layer image's is its layer's hex
    /// digest; an image of several layers', the hex sha256 of their digests, bottom first, one per
    /// line (so two images with the same layers share a root, and a layer shared with its base
    /// image is unpacked again only as part of the chain).
    /// </summary>
    public static string CacheKey(IReadOnlyList<UploadedLayer> layers) =>
        layers.Count == 1
            ? Digests.Hex(layers[0].Digest)
            : Digests.Hex(Digests.Of(System.Text.Encoding.ASCII.GetBytes(string.Join('\n', layers.Select(l => l.Digest)))));

    /// <summary>Ends a lease <see cref="RootAsync"/> gave: the root may be evicted once nothing else uses it.</summary>
    public void Release(string root)
    {
        lock (_gate)
        {
            if (_leases.TryGetValue(root, out var count))
            {
                if (count <= 1)
                {
                    _leases.Remove(root);
                }
                else
                {
                    _leases[root] = count - 1;
                }
            }
        }
    }

    /// <summary>
    /// Removes the unpacked roots nobody needs: neither leased, nor in <paramref name="inUse"/> (the
    /// roots of running containers), nor the root of an image any tag of any tenant points at in the
    /// shared directory's store (the store is the truth: an image still tagged is likely launched again,
    /// and unpacking it costs seconds). Leftovers of an interrupted unpack or eviction go too.
    /// </summary>
    /// <returns>The cache keys removed, as <c>sha256:&lt;key&gt;</c> (a one-layer image's is its layer's digest).</returns>
    public IReadOnlyList<string> Evict(IReadOnlySet<string> inUse)
    {
        if (!Directory.Exists(options.ImageCache))
        {
            return [];
        }

        var referenced = ReferencedKeys(options.SharedDirectory);
        var doomed = new List<(string Layer, string Directory)>();
        lock (_gate)
        {
            foreach (var dir in Directory.EnumerateDirectories(options.ImageCache))
            {
                var hex = Path.GetFileName(dir);
                var layer = Digests.Prefix + hex;
                if (!Digests.IsSha256(layer) || referenced.Contains(hex) || _unpacking.ContainsKey(hex))
                {
                    continue;
                }

                var root = Path.Combine(dir, "rootfs");
                if (_leases.ContainsKey(root) || inUse.Contains(root))
                {
                    continue;
                }

                // Renamed away first, under the lock: a launch sees a whole root or none.
                var away = Path.Combine(options.ImageCache, $"{EvictingPrefix}{hex}-{Guid.NewGuid():N}");
                try
                {
                    Directory.Move(dir, away);
                    doomed.Add((layer, away));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    logger.LogWarning("Image root {Key} not evicted: {Error}", layer, e.Message);
                }
            }
        }

        foreach (var dir in Directory.EnumerateDirectories(options.ImageCache))
        {
            var name = Path.GetFileName(dir);
            if (name.StartsWith(EvictingPrefix, StringComparison.Ordinal) && !doomed.Any(d => d.Directory == dir))
            {
                doomed.Add(("", dir));
            }
            else if (name.StartsWith(UnpackingPrefix, StringComparison.Ordinal)
                && name.Split('-') is [_, var hex, _] && !_unpacking.ContainsKey(hex))
            {
                // An unpack this hostd is not doing: one a previous hostd left.
                doomed.Add(("", dir));
            }
        }

        var evicted = new List<string>();
        foreach (var (layer, dir) in doomed)
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Out of the cache already (renamed): the next sweep tries the rest again.
                logger.LogWarning("Could not remove all of {Directory}: {Error}", dir, e.Message);
            }

            if (layer.Length > 0)
            {
                evicted.Add(layer);
                logger.LogInformation("Evicted image root {Key} from the image cache: no tag references it and nothing runs from it", layer);
            }
        }

        return evicted;
    }

    /// <summary>The cache keys (<see cref="CacheKey"/>) of the images every tag of every tenant points at in the store under <paramref name="sharedDirectory"/>.</summary>
    public static HashSet<string> ReferencedKeys(string sharedDirectory)
    {
        var layers = new HashSet<string>(StringComparer.Ordinal);
        var images = SharedDirectory.ImagesRoot(sharedDirectory);
        if (!Directory.Exists(images))
        {
            return layers;
        }

        foreach (var tenantDir in Directory.EnumerateDirectories(images))
        {
            var tags = Path.Combine(tenantDir, "tags");
            if (!Directory.Exists(tags))
            {
                continue;
            }

            foreach (var tagFile in Directory.EnumerateFiles(tags, "*", SearchOption.AllDirectories))
            {
                try
                {
                    var digest = File.ReadAllText(tagFile).Trim();
                    if (Digests.IsSha256(digest)
                        && ImageManifest.Parse(File.ReadAllBytes(Path.Combine(tenantDir, "blobs", "sha256", Digests.Hex(digest)))) is { } manifest)
                    {
                        layers.Add(CacheKey(manifest.AllLayers()));
                    }
                }
                catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
                {
                    // Deleted while read: it references nothing any more.
                }
            }
        }

        return layers;
    }

    private bool TryLease(string root)
    {
        lock (_gate)
        {
            if (!Directory.Exists(root))
            {
                return false;
            }

            _leases[root] = _leases.GetValueOrDefault(root) + 1;
            return true;
        }
    }

    private string RootOf(string key) => Path.Combine(options.ImageCache, key, "rootfs");

    private async Task<(ImageReference Reference, ImageManifest Manifest)> ManifestAsync(string tenant, string image, CancellationToken ct)
    {
        if (!ImageReference.TryParse(image, out var reference) || reference.Digest is null)
        {
            throw new SpawnRejectedException($"spawn rejected: image '{image}' is not pinned to a digest (NAME:TAG@sha256:…)");
        }

        var manifestPath = SharedDirectory.Blob(options.SharedDirectory, tenant, reference.Digest);
        ImageManifest? manifest;
        try
        {
            manifest = ImageManifest.Parse(await File.ReadAllBytesAsync(manifestPath, ct));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new SpawnRejectedException(Client.ErrorCodes.ImageNotFound,
                $"spawn rejected: image {reference} is not in the shared directory {options.SharedDirectory} of node {options.Node} (is --shared-dir the same mount on every node?)");
        }

        if (manifest is null)
        {
            throw new SpawnRejectedException($"spawn rejected: image {reference}: its manifest in {options.SharedDirectory} does not parse");
        }

        return (reference, manifest);
    }

    private string Unpack(string tenant, ImageReference reference, IReadOnlyList<UploadedLayer> layers, string hex)
    {
        var started = Stopwatch.GetTimestamp();
        var final = Path.Combine(options.ImageCache, hex);
        Directory.CreateDirectory(options.ImageCache);
        File.SetUnixFileMode(options.ImageCache, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var temp = Path.Combine(options.ImageCache, $"{UnpackingPrefix}{hex}-{Guid.NewGuid():N}");
        try
        {
            var rootfs = Path.Combine(temp, "rootfs");
            Directory.CreateDirectory(rootfs);
            File.SetUnixFileMode(rootfs, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            foreach (var layer in layers)
            {
                var blob = SharedDirectory.Blob(options.SharedDirectory, tenant, layer.Digest);
                using (var file = OpenBlob(blob, reference, layer.Digest))
                {
                    var digest = Digests.Prefix + Convert.ToHexStringLower(SHA256.HashData(file));
                    if (digest != layer.Digest)
                    {
                        throw new SpawnRejectedException($"spawn rejected: image {reference}: its layer in the shared directory has digest {digest}, not {layer.Digest} (changed after upload)");
                    }
                }

                Whiteouts.Apply(blob, rootfs, reference);
                Extract(blob, rootfs, reference);
            }

            foreach (var (path, directory) in MountPoints)
            {
                MakeMountPoint(rootfs, path, directory, reference);
            }

            try
            {
                Directory.Move(temp, final);
            }
            catch (IOException) when (Directory.Exists(Path.Combine(final, "rootfs")))
            {
                // Another hostd on this machine unpacked it first: theirs is as good.
            }

            logger.LogInformation("Unpacked image {Image} ({Layers} layer(s), top {Layer}) in {Ms:F0} ms", reference, layers.Count, layers[^1].Digest, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return Path.Combine(final, "rootfs");
        }
        finally
        {
            if (Directory.Exists(temp))
            {
                Directory.Delete(temp, recursive: true);
            }
        }
    }

    private FileStream OpenBlob(string blob, ImageReference reference, string layer)
    {
        try
        {
            return new FileStream(blob, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new SpawnRejectedException(Client.ErrorCodes.ImageNotFound,
                $"spawn rejected: image {reference}: layer {layer} is not in the shared directory {options.SharedDirectory} of node {options.Node}");
        }
    }

    /// <summary>
    /// GNU tar as root keeps owners, modes, links and device nodes; it detects gzip itself and refuses
    /// members outside the root. Whiteout entries are not files of the root (<see cref="Whiteouts"/> applied them).
    /// </summary>
    private static void Extract(string blob, string rootfs, ImageReference reference)
    {
        var start = new ProcessStartInfo("tar") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in new[] { "-x", "--numeric-owner", "--same-owner", "--same-permissions", "--exclude=" + Whiteouts.Prefix + "*", "-f", blob, "-C", rootfs })
        {
            start.ArgumentList.Add(arg);
        }

        using var tar = Process.Start(start) ?? throw new SpawnRejectedException("spawn rejected: tar could not be started to unpack an image");
        var errors = tar.StandardError.ReadToEndAsync();
        tar.StandardOutput.ReadToEnd();
        tar.WaitForExit();
        if (tar.ExitCode != 0)
        {
            var message = errors.GetAwaiter().GetResult().Trim();
            throw new SpawnRejectedException($"spawn rejected: image {reference}: its layer does not unpack (tar exited {tar.ExitCode}): {Shorten(message)}");
        }
    }

    /// <summary>Makes <paramref name="path"/> inside the root, never following a symbolic link the image holds (it could point anywhere on the node).</summary>
    private static void MakeMountPoint(string rootfs, string path, bool directory, ImageReference reference)
    {
        var current = rootfs;
        var parts = path.Trim('/').Split('/');
        for (var i = 0; i < parts.Length; i++)
        {
            current = Path.Combine(current, parts[i]);
            var info = new FileInfo(current);
            if (info.LinkTarget is not null)
            {
                throw new SpawnRejectedException($"spawn rejected: image {reference}: /{string.Join('/', parts[..(i + 1)])} is a symbolic link; the node mounts {path} there and needs a real {(i < parts.Length - 1 || directory ? "directory" : "file")}");
            }

            var last = i == parts.Length - 1;
            if (!last || directory)
            {
                if (!Directory.Exists(current))
                {
                    Directory.CreateDirectory(current);
                    if (path == "/tmp" && last)
                    {
                        File.SetUnixFileMode(current, (UnixFileMode)0x3FF | UnixFileMode.StickyBit);
                    }
                }
            }
            else if (!File.Exists(current))
            {
                File.WriteAllBytes(current, []);
            }
        }
    }

    private static string Shorten(string s) => s.Length <= 400 ? s : s[..400] + "…";
}
