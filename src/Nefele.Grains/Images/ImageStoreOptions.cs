namespace Nefele.Images;

/// <summary>Where the silo keeps images (configuration section <c>Shared</c>; the flag <c>--shared-dir</c>).</summary>
public sealed class ImageStoreOptions
{
    public const string Section = "Shared";

    /// <summary>
    /// The directory every node mounts (<see cref="Nefele.Shared.SharedDirectory"/>); images live in
    /// its <c>images/</c>. Default <c>/var/lib/nefele-shared</c>, right for a node alone; a cluster
    /// gives every node the same mount (NFS, GlusterFS), or images pushed through one node are not
    /// seen by the others.
    /// </summary>
    public string Directory { get; set; } = "";
}
