using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>
/// A node whose tenant containers run in development mode (an overlay per tenant and image that
/// keeps their changes), with its own shared directory, image cache and container state under its
/// run directory (removed with it), and a busybox image tarball for its tests.
/// </summary>
public sealed class DevelopmentImageNodeFixture : IAsyncLifetime
{
    private readonly string _work = Path.Combine(Path.GetTempPath(), "nefele-e2e-dev-images-" + Guid.NewGuid().ToString("N")[..8]);

    public NodeUnderTest Node { get; private set; } = null!;

    public string SharedDir { get; private set; } = "";

    /// <summary>
    /// A busybox root filesystem as a tarball (see <see cref="TestImage"/>) with a directory the
    /// tenant's processes may change (their uid is the tenant's, not the image's root):
    /// <c>/work</c>, mode 0777, holding <c>image-file</c>.
    /// </summary>
    public string Busybox { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_work);
        await TestImage.BusyboxAsync(_work);
        var root = Path.Combine(_work, "busybox-root");
        var work = Directory.CreateDirectory(Path.Combine(root, "work")).FullName;
        await File.WriteAllTextAsync(Path.Combine(work, "image-file"), "from the image\n");
        File.SetUnixFileMode(work, (UnixFileMode)0x1FF);
        Busybox = Path.Combine(_work, "busybox-work.tar");
        var (code, _, stderr) = await NodeUnderTest.RunAsync("tar", ["--numeric-owner", "--owner=0", "--group=0", "-C", root, "-cf", Busybox, "."], timeout: TimeSpan.FromSeconds(60));
        if (code != 0)
        {
            throw new InvalidOperationException($"tar failed: {stderr}");
        }

        var name = "e2e-dev-" + Guid.NewGuid().ToString("N")[..8];
        var runDir = Path.Combine(Path.GetTempPath(), "nefele-e2e", name);
        SharedDir = Path.Combine(runDir, "shared");
        Node = await NodeUnderTest.StartAsync(name,
            ["--shared-dir", SharedDir, "--image-cache", Path.Combine(runDir, "image-cache"), "--container-state-dir", Path.Combine(runDir, "containers"), "--container-mode", "development"],
            ["--shared-dir", SharedDir]);
    }

    public async Task DisposeAsync()
    {
        await Node.DisposeAsync();
        Directory.Delete(_work, recursive: true);
    }
}
