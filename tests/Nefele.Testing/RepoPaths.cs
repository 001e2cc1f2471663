namespace Nefele.Testing;

/// <summary>Where the built node components are, relative to this test assembly's build.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>Debug or Release: the configuration this test assembly was built in, used for the components too.</summary>
    public static string Configuration { get; } =
        new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;

    public static string Dll(string project, string assembly) =>
        Require(Path.Combine(Root, "src", project, "bin", Configuration, "net10.0", assembly + ".dll"));

    public static string Native(string file) => Require(Path.Combine(Root, "native", "build", file));

    private static string Require(string path) =>
        File.Exists(path) ? path : throw new FileNotFoundException($"{path} is missing: build with scripts/test (or make -C native and dotnet build -c {Configuration})", path);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Nefele.Orleans.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("cannot find Nefele.Orleans.sln above " + AppContext.BaseDirectory);
    }
}
