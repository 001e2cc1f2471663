namespace Nefele.HostAgent.Tests.Containers;

/// <summary>
/// A tiny image root made from the host's static busybox (package busybox-static): /bin/busybox
/// and a link per applet the tests use. Removed on dispose.
/// </summary>
internal sealed class BusyboxRoot : IDisposable
{
    private static readonly string[] Busyboxes = ["/bin/busybox", "/usr/bin/busybox"];
    private static readonly string[] Directories = ["etc", "tmp", "root", "var"];
    private static readonly string[] Applets = ["sh", "ls", "cat", "ps", "sleep", "echo", "id", "hostname", "touch", "ip", "kill", "true", "false", "wc", "grep", "mkdir", "rm", "test"];

    public BusyboxRoot()
    {
        var busybox = Busyboxes.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("busybox is missing: the container tests build their image from the static busybox (apt-get install busybox-static)");
        Path = Directory.CreateTempSubdirectory("nefele-bb-").FullName;
        var bin = System.IO.Path.Combine(Path, "bin");
        Directory.CreateDirectory(bin);
        File.Copy(busybox, System.IO.Path.Combine(bin, "busybox"));
        foreach (var applet in Applets)
        {
            File.CreateSymbolicLink(System.IO.Path.Combine(bin, applet), "busybox");
        }

        foreach (var dir in Directories)
        {
            Directory.CreateDirectory(System.IO.Path.Combine(Path, dir));
        }

        File.WriteAllText(System.IO.Path.Combine(Path, "etc", "image-marker"), "busybox image\n");
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
