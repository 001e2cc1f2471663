using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Nefele.HostAgent.Images;
using Nefele.Images;
using Nefele.Shared;

namespace Nefele.HostAgent.Tests.Images;

/// <summary>The node's image cache on real files: layers unpacked with tar, leased to launches, evicted when nothing uses or references them.</summary>
public sealed class ImageCacheTests : IDisposable
{
    private const string Tenant = "acme";
    private readonly string dir = Path.Combine(Path.GetTempPath(), "nefele-image-cache-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly HostAgentOptions options;
    private readonly ImageCache cache;

    public ImageCacheTests()
    {
        options = new HostAgentOptions { Node = "n1", SharedDirectory = Path.Combine(dir, "shared"), ImageCache = Path.Combine(dir, "cache") };
        cache = new ImageCache(options, NullLogger<ImageCache>.Instance);
    }

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public async Task A_layer_goes_once_no_tag_references_it_and_no_lease_or_container_uses_it()
    {
        var web = Push("web", "1", "hello from web");
        var db = Push("db", "1", "hello from db");
        var webRoot = await cache.RootAsync(Tenant, web.Reference, CancellationToken.None);
        var dbRoot = await cache.RootAsync(Tenant, db.Reference, CancellationToken.None);
        Assert.Equal("hello from web", File.ReadAllText(Path.Combine(webRoot, "greeting")));

        // Both tagged: a sweep keeps them, leased or not.
        cache.Release(webRoot);
        Assert.Empty(cache.Evict(new HashSet<string>()));

        // Untagged: the leased one stays until released, the one a container runs from until it stops.
        Untag("web", "1");
        Untag("db", "1");
        Assert.Equal(new[] { web.Layer }, cache.Evict(new HashSet<string>()));
        Assert.False(Directory.Exists(webRoot));
        Assert.True(File.Exists(Path.Combine(dbRoot, "greeting")));

        cache.Release(dbRoot);
        Assert.Empty(cache.Evict(new HashSet<string> { dbRoot }));
        Assert.True(File.Exists(Path.Combine(dbRoot, "greeting")));
        Assert.Equal(new[] { db.Layer }, cache.Evict(new HashSet<string>()));
        Assert.Empty(Directory.EnumerateFileSystemEntries(options.ImageCache));
    }

    [Fact]
    public async Task A_layer_two_images_share_stays_while_either_tag_does_and_an_evicted_one_unpacks_again()
    {
        var first = Push("app", "1", "shared layer");
        var second = Tag("app", "2", first.Layer);
        var root = await cache.RootAsync(Tenant, first.Reference, CancellationToken.None);
        cache.Release(root);

        Untag("app", "1");
        Assert.Empty(cache.Evict(new HashSet<string>()));

        Untag("app", "2");
        Assert.Equal(new[] { first.Layer }, cache.Evict(new HashSet<string>()));

        // The manifest and layer are still in the store (only the tags went): a pinned launch unpacks it again.
        var again = await cache.RootAsync(Tenant, second, CancellationToken.None);
        Assert.Equal(root, again);
        Assert.Equal("shared layer", File.ReadAllText(Path.Combine(again, "greeting")));
    }

    [Fact]
    public void Leftovers_of_an_interrupted_unpack_or_eviction_go_with_the_next_sweep()
    {
        var hex = new string('a', 64);
        var unpack = Directory.CreateDirectory(Path.Combine(options.ImageCache, $".unpack-{hex}-{Guid.NewGuid():N}", "rootfs", "etc")).FullName;
        var evict = Directory.CreateDirectory(Path.Combine(options.ImageCache, $".evict-{hex}-{Guid.NewGuid():N}", "rootfs")).FullName;
        File.WriteAllText(Path.Combine(unpack, "passwd"), "root:x:0:0::/:/bin/sh\n");

        Assert.Empty(cache.Evict(new HashSet<string>()));
        Assert.Empty(Directory.EnumerateFileSystemEntries(options.ImageCache));
        Assert.False(Directory.Exists(evict));
    }

    // ---- a store as the silo writes it (SharedDirectory's layout) -----------------------

    private (string Reference, string Layer) Push(string name, string tag, string greeting)
    {
        var content = Directory.CreateDirectory(Path.Combine(dir, "content-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        File.WriteAllText(Path.Combine(content, "greeting"), greeting);
        var tarball = Path.Combine(dir, "layer-" + Guid.NewGuid().ToString("N")[..8] + ".tar");
        var tar = Process.Start("tar", ["-cf", tarball, "-C", content, "."])!;
        tar.WaitForExit();
        Assert.Equal(0, tar.ExitCode);

        var layer = Digests.Of(File.ReadAllBytes(tarball));
        WriteBlob(layer, File.ReadAllBytes(tarball));
        return (Tag(name, tag, layer), layer);
    }

    private string Tag(string name, string tag, string layer)
    {
        var manifest = new ImageManifest(layer, new FileInfo(SharedDirectory.Blob(options.SharedDirectory, Tenant, layer)).Length, null).ToBytes();
        var digest = Digests.Of(manifest);
        WriteBlob(digest, manifest);
        var tagFile = Path.Combine(SharedDirectory.Images(options.SharedDirectory, Tenant), "tags", name, tag);
        Directory.CreateDirectory(Path.GetDirectoryName(tagFile)!);
        File.WriteAllText(tagFile, digest);
        return $"{name}:{tag}@{digest}";
    }

    private void Untag(string name, string tag) =>
        File.Delete(Path.Combine(SharedDirectory.Images(options.SharedDirectory, Tenant), "tags", name, tag));

    private void WriteBlob(string digest, byte[] bytes)
    {
        var blob = SharedDirectory.Blob(options.SharedDirectory, Tenant, digest);
        Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
        File.WriteAllBytes(blob, bytes);
    }
}
