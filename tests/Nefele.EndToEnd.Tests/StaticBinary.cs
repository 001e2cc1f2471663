using System.Buffers.Binary;

namespace Nefele.EndToEnd.Tests;

/// <summary>A statically linked program (no dynamic loader, so LD_PRELOAD never runs the shim).</summary>
internal static class StaticBinary
{
    private const uint PtInterp = 3;

    /// <summary>Builds a static program that prints "static" and waits for a signal, into <paramref name="dir"/>.</summary>
    public static async Task<string> BuildAsync(string dir)
    {
        var source = Path.Combine(dir, "static.c");
        var binary = Path.Combine(dir, "static-pause");
        await File.WriteAllTextAsync(source, "#include <unistd.h>\nint main(void) { write(1, \"static\\n\", 7); pause(); return 0; }\n");
        var (code, _, stderr) = await NodeUnderTest.RunAsync("gcc", ["-static", "-O1", "-o", binary, source], timeout: TimeSpan.FromSeconds(60));
        if (code != 0)
        {
            throw new InvalidOperationException($"gcc -static failed (needs gcc and libc.a): {stderr}");
        }

        if (!IsStaticElf(binary))
        {
            throw new InvalidOperationException($"{binary} has a program interpreter: not static");
        }

        return binary;
    }

    /// <summary>An ELF64 little-endian executable without a PT_INTERP program header.</summary>
    public static bool IsStaticElf(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 64 || bytes[0] != 0x7f || bytes[1] != 'E' || bytes[2] != 'L' || bytes[3] != 'F' || bytes[4] != 2 || bytes[5] != 1)
        {
            return false;
        }

        var phoff = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(0x20));
        var phentsize = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(0x36));
        var phnum = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(0x38));
        for (var i = 0; i < phnum; i++)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan((int)(phoff + (i * phentsize)))) == PtInterp)
            {
                return false;
            }
        }

        return true;
    }
}
