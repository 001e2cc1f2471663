using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Nefele.HostAgent.Engines;
using Nefele.Images;
using Nefele.Shared;

namespace Nefele.HostAgent.Images;

/// <summary>
/// This node's unpacked image layers: <c>&lt;image-cache&gt;/&lt;hex&gt;/rootfs</c>, one per layer digest,
/// unpacked once from the shared directory's blob (its sha256 checked first) into a temporary
/// directory and renamed into place whole, so a root that exists is complete. Concurrent launches
/// of one image wait for the same unpack. The root holds the mount points a process from it needs
/// (<see cref="MountPoints"/>), made while unpacking.
/// </summary>
/// <remarks>
/// Each root handed out is leased (<see cref="RootAsync"/>) until its process is forgotten
/// (<see cref="Release"/>). <see cref="Evict"/> removes the unpacked layers that no lease, no
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

        var root = Path.Combine(options.ImageCache, Digests.Hex(manifest.Layer), "rootfs");

        // Unpacked, or unpacked again when an eviction took it between the unpack and the lease.
        while (!TryLease(root))
        {
            var unpack = _unpacking.GetOrAdd(manifest.Layer, layer => new Lazy<Task<string>>(() => Task.Run(() => Unpack(tenant, reference, layer))));
            try
            {
                await unpack.Value.WaitAsync(ct);
            }
            finally
            {
                if (unpack.Value.IsCompleted)
                {
                    _unpacking.TryRemove(new KeyValuePair<string, Lazy<Task<string>>>(manifest.Layer, unpack));
                }
            }
        }

        return root;
    }

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
    /// Removes the unpacked layers nobody needs: neither leased, nor in <paramref name="inUse"/> (the
    /// roots of running containers), nor the layer of an image any tag of any tenant points at in the
    /// shared directory's store (the store is the truth: a layer still tagged is likely launched again,
    /// and unpacking it costs seconds). Leftovers of an interrupted unpack or eviction go too.
    /// </summary>
    /// <returns>The layer digests removed.</returns>
    public IReadOnlyList<string> Evict(IReadOnlySet<string> inUse)
    {
        if (!Directory.Exists(options.ImageCache))
        {
            return [];
        }

        var referenced = ReferencedLayers(options.SharedDirectory);
        var doomed = new List<(string Layer, string Directory)>();
        lock (_gate)
        {
            foreach (var dir in Directory.EnumerateDirectories(options.ImageCache))
            {
                var hex = Path.GetFileName(dir);
                var layer = Digests.Prefix + hex;
                if (!Digests.IsSha256(layer) || referenced.Contains(layer) || _unpacking.ContainsKey(layer))
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
                    logger.LogWarning("Image layer {Layer} not evicted: {Error}", layer, e.Message);
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
                && name.Split('-') is [_, var hex, _] && !_unpacking.ContainsKey(Digests.Prefix + hex))
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
                logger.LogInformation("Evicted image layer {Layer} from the image cache: no tag references it and nothing runs from it", layer);
            }
        }

        return evicted;
    }

    /// <summary>The layers of the images every tag of every tenant points at in the store under <paramref name="sharedDirectory"/>.</summary>
    public static HashSet<string> ReferencedLayers(string sharedDirectory)
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
                        layers.Add(manifest.Layer);
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

    private string Unpack(string tenant, ImageReference reference, string layer)
    {
        var started = Stopwatch.GetTimestamp();
        var blob = SharedDirectory.Blob(options.SharedDirectory, tenant, layer);
        var hex = Digests.Hex(layer);
        var final = Path.Combine(options.ImageCache, hex);
        Directory.CreateDirectory(options.ImageCache);
        File.SetUnixFileMode(options.ImageCache, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var temp = Path.Combine(options.ImageCache, $"{UnpackingPrefix}{hex}-{Guid.NewGuid():N}");
        try
        {
            using (var file = OpenBlob(blob, reference, layer))
            {
                var digest = Digests.Prefix + Convert.ToHexStringLower(SHA256.HashData(file));
                if (digest != layer)
                {
                    throw new SpawnRejectedException($"spawn rejected: image {reference}: its layer in the shared directory has digest {digest}, not {layer} (changed after upload)");
                }
            }

            var rootfs = Path.Combine(temp, "rootfs");
            Directory.CreateDirectory(rootfs);
            File.SetUnixFileMode(rootfs, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            Extract(blob, rootfs, reference);
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

            logger.LogInformation("Unpacked image {Image} (layer {Layer}) in {Ms:F0} ms", reference, layer, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
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

    /// <summary>GNU tar as root keeps owners, modes, links and device nodes; it detects gzip itself and refuses members outside the root.</summary>
    private static void Extract(string blob, string rootfs, ImageReference reference)
    {
        var start = new ProcessStartInfo("tar") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in new[] { "-x", "--numeric-owner", "--same-owner", "--same-permissions", "-f", blob, "-C", rootfs })
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
