using System.Globalization;
using Nefele.Client;
using Nefele.Images;

namespace Nefele.Cli.Output;

/// <summary>Images as nef images prints them: NAME TAG DIGEST (12 hex digits, as docker) SIZE CREATED.</summary>
internal static class ImageTable
{
    private static readonly string[] Header = ["NAME", "TAG", "DIGEST", "SIZE", "CREATED"];

    public static Task WriteAsync(TextWriter output, IEnumerable<ImageInfo> images, DateTimeOffset now)
    {
        var rows = new List<string[]> { Header };
        rows.AddRange(images.Select(i => new[]
        {
            i.Name,
            i.Tag,
            Digests.IsSha256(i.Digest) ? Digests.Hex(i.Digest)[..12] : i.Digest,
            Size(i.Size),
            Age.Format(now - i.CreatedAt) + " ago",
        }));
        return TextTable.WriteAsync(output, rows);
    }

    /// <summary>Bytes in powers of 2, one decimal (the unit grammar's Ki, Mi, Gi).</summary>
    public static string Size(long bytes)
    {
        string[] units = ["B", "Ki", "Mi", "Gi", "Ti"];
        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return unit == 0 ? string.Create(CultureInfo.InvariantCulture, $"{bytes}B") : string.Create(CultureInfo.InvariantCulture, $"{value:0.0}{units[unit]}");
    }
}
