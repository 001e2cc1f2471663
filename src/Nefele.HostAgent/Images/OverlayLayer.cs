using System.Diagnostics;
using System.Formats.Tar;
using System.Security.Cryptography;
using Nefele.Images;
using Nefele.Validation;

namespace Nefele.HostAgent.Images;

/// <summary>
/// A development overlay's upper dir as an OCI layer tarball (POSIX tar, uncompressed). GNU tar
/// walks the directory (numeric owners, modes, mtimes, symbolic and hard links, device nodes, and
/// the xattr <c>trusted.overlay.opaque</c>); the entries are then rewritten as OCI has them: a
/// character device 0/0 (overlayfs' whiteout) becomes an empty <c>.wh.NAME</c>, an opaque directory
/// is followed by <c>.wh..wh..opq</c>, and no <c>trusted.overlay.*</c> xattr is kept.
/// </summary>
public static class OverlayLayer
{
    private const string XattrKey = "SCHILY.xattr.";
    private const string OverlayXattr = XattrKey + "trusted.overlay.";
    private const string OpaqueXattr = OverlayXattr + "opaque";

    /// <summary>Writes the layer of <paramref name="upper"/> to <paramref name="destination"/> (replacing its content); answers its digest and size.</summary>
    /// <exception cref="IOException">tar failed, or the layer is larger than <see cref="Limits.MaxImageLayerBytes"/>.</exception>
    public static async Task<(string Digest, long Size)> PackAsync(string upper, string destination, CancellationToken ct)
    {
        var start = new ProcessStartInfo("tar") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "-c", "-H", "posix", "--numeric-owner", "--xattrs", "--xattrs-include=trusted.overlay.opaque", "-f", "-", "-C", upper, "." })
        {
            start.ArgumentList.Add(arg);
        }

        using var tar = Process.Start(start) ?? throw new IOException("tar could not be started to pack the overlay");
        var errors = tar.StandardError.ReadToEndAsync(ct);
        long size;
        try
        {
            await using (var file = new FileStream(destination, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            {
                await Task.Run(() => Rewrite(tar.StandardOutput.BaseStream, file, ct), ct);
                size = file.Length;
            }

            // The archive's end is followed by padding to tar's record size.
            await tar.StandardOutput.BaseStream.CopyToAsync(Stream.Null, ct);
            await tar.WaitForExitAsync(ct);
        }
        catch
        {
            tar.Kill();
            await tar.WaitForExitAsync(CancellationToken.None);
            throw;
        }

        if (tar.ExitCode != 0)
        {
            var message = (await errors).Trim();
            throw new IOException($"tar exited {tar.ExitCode} packing {upper}: {(message.Length <= 400 ? message : message[..400] + "…")}");
        }

        if (size > Limits.MaxImageLayerBytes)
        {
            throw new IOException($"the overlay's layer is {size} bytes, over the {Limits.MaxImageLayerBytes} an image layer may be");
        }

        await using var written = new FileStream(destination, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        return (Digests.Prefix + Convert.ToHexStringLower(await SHA256.HashDataAsync(written, ct)), size);
    }

    private static void Rewrite(Stream from, Stream to, CancellationToken ct)
    {
        using var reader = new TarReader(from, leaveOpen: true);
        using var writer = new TarWriter(to, TarEntryFormat.Pax, leaveOpen: true);
        while (reader.GetNextEntry() is { } entry)
        {
            ct.ThrowIfCancellationRequested();
            var name = entry.Name;
            if (name is "./" or ".")
            {
                continue;
            }

            if (entry.EntryType == TarEntryType.CharacterDevice && entry is PosixTarEntry { DeviceMajor: 0, DeviceMinor: 0 })
            {
                var slash = name.LastIndexOf('/');
                writer.WriteEntry(Marker(entry, name[..(slash + 1)] + Whiteouts.Prefix + name[(slash + 1)..]));
                continue;
            }

            if (entry is not PaxTarEntry pax || !pax.ExtendedAttributes.Keys.Any(k => k.StartsWith(OverlayXattr, StringComparison.Ordinal)))
            {
                writer.WriteEntry(entry);
                continue;
            }

            var kept = pax.ExtendedAttributes.Where(a => a.Key.StartsWith(XattrKey, StringComparison.Ordinal) && !a.Key.StartsWith(OverlayXattr, StringComparison.Ordinal));
            var copy = new PaxTarEntry(entry.EntryType, name, kept)
            {
                Mode = entry.Mode,
                Uid = entry.Uid,
                Gid = entry.Gid,
                ModificationTime = entry.ModificationTime,
                UserName = pax.UserName,
                GroupName = pax.GroupName,
            };
            if (entry.EntryType is TarEntryType.SymbolicLink or TarEntryType.HardLink)
            {
                copy.LinkName = entry.LinkName;
            }
            else if (entry.EntryType == TarEntryType.RegularFile)
            {
                copy.DataStream = entry.DataStream;
            }

            writer.WriteEntry(copy);
            if (entry.EntryType == TarEntryType.Directory && pax.ExtendedAttributes.TryGetValue(OpaqueXattr, out var opaque) && opaque == "y")
            {
                writer.WriteEntry(Marker(entry, name.TrimEnd('/') + "/" + Whiteouts.Opaque));
            }
        }
    }

    /// <summary>An empty regular file standing for a whiteout, owned as <paramref name="like"/>.</summary>
    private static PaxTarEntry Marker(TarEntry like, string name) => new(TarEntryType.RegularFile, name)
    {
        Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
        Uid = like.Uid,
        Gid = like.Gid,
        ModificationTime = like.ModificationTime,
    };
}
