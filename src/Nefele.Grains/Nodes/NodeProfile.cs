namespace Nefele.Nodes;

/// <summary>
/// A node's own configuration, beside what its host agent reports: its labels, the devices
/// declared for it (winning over detected ones of the same name), and the cpu and memory kept
/// back from placement. A real node's comes from <see cref="NodeOptions"/>; a hollow node's
/// from its declaration.
/// </summary>
public sealed record NodeProfile(
    IReadOnlyDictionary<string, string> Labels,
    IReadOnlyDictionary<string, long> Devices,
    long ReservedCpuMillis,
    long ReservedMemoryBytes)
{
    public static NodeProfile Of(NodeOptions options) =>
        new(options.Labels, options.Devices, options.ReservedCpuMillis, options.ReservedMemoryBytes);
}
