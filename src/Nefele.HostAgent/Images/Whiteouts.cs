using System.Formats.Tar;
using System.IO.Compression;
using Nefele.HostAgent.Engines;
using Nefele.Images;

namespace Nefele.HostAgent.Images;

/// <summary>
/// OCI whiteouts, the way a layer removes what the layers below it hold: an empty file
/// <c>DIR/.wh.NAME</c> removes <c>DIR/NAME</c> (a file, link or whole directory), and
/// <c>DIR/.wh..wh..opq</c> removes everything below <c>DIR</c> that lower layers put there (the
/// layer's own files in DIR stay). Overlayfs writes the same as a character device 0/0 and the
/// xattr <c>trusted.overlay.opaque=y</c>; <see cref="OverlayLayer"/> turns those into these.
/// </summary>
public static class Whiteouts
{
    /// <summary>The name prefix of a whiteout entry.</summary>
    public const string Prefix = ".wh.";

    /// <summary>The entry that marks its directory opaque.</summary>
    public const string Opaque = ".wh..wh..opq";

    /// <summary>
    /// Applies the whiteouts of the layer <paramref name="blob"/> (plain or gzip tar) to
    /// <paramref name="rootfs"/>, which holds the layers below it; run before the layer's files are
    /// extracted. A path through a symbolic link is never followed (it could leave the root): such a
    /// whiteout has nothing of the root to remove.
    /// </summary>
    /// <exception cref="SpawnRejectedException">The layer is not a tar archive.</exception>
    public static void Apply(string blob, string rootfs, ImageReference reference)
    {
        List<string> opaque = [];
        List<string> removed = [];
        try
        {
            using var file = new FileStream(blob, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            var gzip = file.ReadByte() == 0x1f && file.ReadByte() == 0x8b;
            file.Position = 0;
            using Stream stream = gzip ? new GZipStream(file, CompressionMode.Decompress) : file;
            using var reader = new TarReader(stream);
            while (reader.GetNextEntry() is { } entry)
            {
                var parts = entry.Name.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(p => p != ".").ToArray();
                if (parts.Length == 0 || !parts[^1].StartsWith(Prefix, StringComparison.Ordinal) || parts.Contains(".."))
                {
                    continue;
                }

                if (parts[^1] == Opaque)
                {
                    opaque.Add(string.Join('/', parts[..^1]));
                }
                else if (parts[^1].Length > Prefix.Length)
                {
                    removed.Add(string.Join('/', [.. parts[..^1], parts[^1][Prefix.Length..]]));
                }
            }
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw new SpawnRejectedException($"spawn rejected: image {reference}: a layer is not a tar archive ({e.Message})");
        }

        foreach (var dir in opaque)
        {
            if (Inside(rootfs, dir) is { } path && Directory.Exists(path) && new DirectoryInfo(path).LinkTarget is null)
            {
                foreach (var child in new DirectoryInfo(path).EnumerateFileSystemInfos())
                {
                    Remove(child.FullName);
                }
            }
        }

        foreach (var name in removed)
        {
            if (Inside(rootfs, name) is { } path)
            {
                Remove(path);
            }
        }
    }

    /// <summary>The path of <paramref name="relative"/> in the root when every directory on the way is a real one, else null.</summary>
    private static string? Inside(string rootfs, string relative)
    {
        var current = rootfs;
        var parts = relative.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < parts.Length; i++)
        {
            current = Path.Combine(current, parts[i]);
            if (i < parts.Length - 1)
            {
                var dir = new DirectoryInfo(current);
                if (!dir.Exists || dir.LinkTarget is not null)
                {
                    return null;
                }
            }
        }

        return current;
    }

    private static void Remove(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is null && Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
        else if (info.Exists || info.LinkTarget is not null)
        {
            File.Delete(path);
        }
    }
}
