namespace Nefele.EndToEnd.Tests;

/// <summary>
/// A tiny image for the tests: the node's static busybox (package busybox-static, which scripts/test
/// installs) with relative links for the applets the tests run, a marker file, and no shim (a static
/// program cannot load it: its spawns use no_handshake).
/// </summary>
internal static class TestImage
{
    /// <summary>What /etc/image-marker holds inside the image (the host has no such file).</summary>
    public const string Marker = "busybox test image";

    private static readonly string[] Applets = ["sh", "echo", "cat", "id", "sleep", "ls", "touch", "stat", "pwd"];

    /// <summary>Packs the image into <paramref name="dir"/>; answers the tarball's path.</summary>
    public static async Task<string> BusyboxAsync(string dir)
    {
        const string busybox = "/bin/busybox";
        if (!File.Exists(busybox) || !StaticBinary.IsStaticElf(busybox))
        {
            throw new InvalidOperationException($"{busybox} is missing or not static: install busybox-static (scripts/test does)");
        }

        var root = Path.Combine(dir, "busybox-root");
        Directory.CreateDirectory(Path.Combine(root, "bin"));
        Directory.CreateDirectory(Path.Combine(root, "etc"));
        File.Copy(busybox, Path.Combine(root, "bin", "busybox"));
        foreach (var applet in Applets)
        {
            File.CreateSymbolicLink(Path.Combine(root, "bin", applet), "busybox");
        }

        await File.WriteAllTextAsync(Path.Combine(root, "etc", "image-marker"), Marker + "\n");
        var tarball = Path.Combine(dir, "busybox.tar");
        var (code, _, stderr) = await NodeUnderTest.RunAsync("tar", ["--numeric-owner", "--owner=0", "--group=0", "-C", root, "-cf", tarball, "."], timeout: TimeSpan.FromSeconds(60));
        if (code != 0)
        {
            throw new InvalidOperationException($"tar failed: {stderr}");
        }

        return tarball;
    }
}
