using Nefele.Images;
using Nefele.Validation;

namespace Nefele.Shared;

/// <summary>
/// The directory every node of a cluster mounts (<c>--shared-dir</c> of the silo and of hostd; NFS
/// or GlusterFS across machines, one host directory for <c>scripts/cluster</c>), and where things
/// live in it. Written once for both: the silo keeps the image store there, hostd makes the tenants'
/// directories and reads image layers from it.
/// <code>
/// DIR/tenants/&lt;tenant&gt;/                        a tenant's files (owned by its uid and gid, mode 0770)
/// DIR/images/&lt;tenant&gt;/blobs/sha256/&lt;hex&gt;       layers and image manifests, by digest
/// DIR/images/&lt;tenant&gt;/tags/&lt;name&gt;/&lt;tag&gt;       the image digest a tag points at
/// DIR/images/&lt;tenant&gt;/uploads/                  uploads in progress (renamed into blobs/ when complete)
/// </code>
/// </summary>
public static class SharedDirectory
{
    /// <summary>The default, for a node alone.</summary>
    public const string Default = "/var/lib/nefele-shared";

    /// <summary>The flag both programs take.</summary>
    public const string Flag = "--shared-dir";

    /// <summary>The environment variable that gives a host process its tenant's directory.</summary>
    public const string EnvironmentVariable = "NEFELE_SHARED";

    /// <summary>Where a tenant container sees its tenant's directory.</summary>
    public const string ContainerPath = "/shared";

    /// <summary>The directory to use: <paramref name="configured"/>, else <see cref="Default"/>; an absolute path.</summary>
    /// <exception cref="ArgumentException">A relative path (the message names the flag).</exception>
    public static string Resolve(string? configured)
    {
        if (string.IsNullOrWhiteSpace(configured))
        {
            return Default;
        }

        if (!Path.IsPathFullyQualified(configured))
        {
            throw new ArgumentException($"{Flag} {configured}: give an absolute path");
        }

        return Path.TrimEndingDirectorySeparator(Path.GetFullPath(configured));
    }

    /// <summary>Every tenant's directory is under this.</summary>
    public static string TenantsRoot(string dir) => Path.Combine(dir, "tenants");

    /// <summary>The tenant's own directory.</summary>
    public static string Tenant(string dir, string tenant)
    {
        Names.ValidateTenantName(tenant);
        return Path.Combine(dir, "tenants", tenant);
    }

    /// <summary>The image store of every tenant is under this.</summary>
    public static string ImagesRoot(string dir) => Path.Combine(dir, "images");

    /// <summary>The tenant's image store.</summary>
    public static string Images(string dir, string tenant)
    {
        Names.ValidateTenantName(tenant);
        return Path.Combine(dir, "images", tenant);
    }

    /// <summary>The file of a blob (layer or manifest) of the tenant.</summary>
    public static string Blob(string dir, string tenant, string digest)
    {
        if (!Digests.IsSha256(digest))
        {
            throw new ArgumentException($"'{Names.Shorten(digest)}' is not a sha256 digest", nameof(digest));
        }

        return Path.Combine(Images(dir, tenant), "blobs", "sha256", Digests.Hex(digest));
    }

    /// <summary>Where the tenant's unfinished uploads are written before a rename makes them blobs.</summary>
    public static string Uploads(string dir, string tenant) => Path.Combine(Images(dir, tenant), "uploads");

    /// <summary>True for an upload id: 32 lowercase hex digits.</summary>
    public static bool IsUploadId(string? upload) => upload is { Length: 32 } && upload.All(char.IsAsciiHexDigitLower);

    /// <summary>The file of an unfinished upload of the tenant.</summary>
    public static string Upload(string dir, string tenant, string upload) =>
        IsUploadId(upload)
            ? Path.Combine(Uploads(dir, tenant), upload)
            : throw new ArgumentException($"'{Names.Shorten(upload)}' is not an upload id", nameof(upload));
}
