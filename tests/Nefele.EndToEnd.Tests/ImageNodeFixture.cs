using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>
/// A node whose shared directory and image cache are its own (under its run directory, removed with
/// it; the cache swept every second, containers stopped 2 s after their last process), and a busybox
/// image tarball for its tests.
/// </summary>
public sealed class ImageNodeFixture : IAsyncLifetime
{
    private readonly string _work = Path.Combine(Path.GetTempPath(), "nefele-e2e-images-" + Guid.NewGuid().ToString("N")[..8]);

    public NodeUnderTest Node { get; private set; } = null!;

    public string SharedDir { get; private set; } = "";

    public string ImageCache { get; private set; } = "";

    /// <summary>A busybox root filesystem as a tarball (see <see cref="TestImage"/>).</summary>
    public string Busybox { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_work);
        Busybox = await TestImage.BusyboxAsync(_work);
        var name = "e2e-img-" + Guid.NewGuid().ToString("N")[..8];
        var runDir = Path.Combine(Path.GetTempPath(), "nefele-e2e", name);
        SharedDir = Path.Combine(runDir, "shared");
        ImageCache = Path.Combine(runDir, "image-cache");
        Node = await NodeUnderTest.StartAsync(name, ["--shared-dir", SharedDir, "--image-cache", ImageCache, "--image-cache-sweep", "1s", "--container-linger", "2s", "--container-state-dir", Path.Combine(runDir, "containers")], ["--shared-dir", SharedDir]);
    }

    public async Task DisposeAsync()
    {
        await Node.DisposeAsync();
        Directory.Delete(_work, recursive: true);
    }
}
