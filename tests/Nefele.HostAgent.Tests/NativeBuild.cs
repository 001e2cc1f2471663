namespace Nefele.HostAgent.Tests;

/// <summary>Locates native/build of this checkout; tests that need it fail with a clear message if it is missing.</summary>
internal static class NativeBuild
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string ShimPath => Require("libnefele-shim.so");

    public static string SpawnLibraryPath => Require("libnefele-spawn.so");

    private static string Require(string file)
    {
        var path = Path.Combine(RepoRoot, "native", "build", file);
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"{path} is missing: these tests run real processes through the native libraries; build them first with 'make -C native'");
        }

        return path;
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Nefele.Orleans.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("cannot find the repository root (Nefele.Orleans.sln) above " + AppContext.BaseDirectory);
    }
}
