namespace Nefele.EndToEnd.Tests;

/// <summary>C programs that call libnefele (native/include/nefele.h), built with gcc for a test.</summary>
internal static class LibnefeleProgram
{
    /// <summary>Compiles <paramref name="source"/> into <paramref name="dir"/>/<paramref name="name"/>, linked to native/build/libnefele.so; returns its path.</summary>
    public static async Task<string> CompileAsync(string dir, string name, string source)
    {
        var file = Path.Combine(dir, name + ".c");
        var binary = Path.Combine(dir, name);
        await File.WriteAllTextAsync(file, source);
        var native = Path.GetDirectoryName(RepoPaths.Native("libnefele.so"))!;
        var (code, _, stderr) = await NodeUnderTest.RunAsync("gcc",
            ["-O1", "-I", Path.Combine(RepoPaths.Root, "native", "include"), "-o", binary, file, "-L", native, "-lnefele", "-Wl,-rpath," + native],
            timeout: TimeSpan.FromSeconds(60));
        if (code != 0)
        {
            throw new InvalidOperationException($"gcc failed on {name}.c: {stderr}");
        }

        return binary;
    }
}
