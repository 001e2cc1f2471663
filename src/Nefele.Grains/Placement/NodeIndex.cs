using Nefele.Client;
using Nefele.Nodes;

namespace Nefele.Placement;

/// <summary>
/// The directory, indexed once per refresh so a placement never scans it: the hollow nodes,
/// and for every label (key=value) and device the nodes that have it. Which real nodes are
/// alive is not in here; admission takes that from membership per request.
/// </summary>
public sealed class NodeIndex
{
    public static NodeIndex Empty { get; } = new(new NodeDirectorySnapshot());

    public NodeIndex(NodeDirectorySnapshot snapshot)
    {
        Version = snapshot.Version;
        var byLabel = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var byDevice = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var hollow = new List<string>();
        foreach (var node in snapshot.Nodes)
        {
            Entries[node.Name] = node;
            if (node.Hollow)
            {
                hollow.Add(node.Name);
            }

            foreach (var (key, value) in node.Labels)
            {
                Add(byLabel, $"{key}={value}", node.Name);
            }

            foreach (var (name, count) in node.Devices)
            {
                if (count > 0)
                {
                    Add(byDevice, name, node.Name);
                }
            }
        }

        Hollow = hollow;
        ByLabel = byLabel.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<string>)kv.Value, StringComparer.Ordinal);
        ByDevice = byDevice.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<string>)kv.Value, StringComparer.Ordinal);
    }

    public long Version { get; }

    public Dictionary<string, NodeEntry> Entries { get; } = new(StringComparer.Ordinal);

    public IReadOnlyList<string> Hollow { get; }

    /// <summary>Nodes by label "key=value".</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> ByLabel { get; }

    /// <summary>Nodes that have at least one of a device, by device name.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> ByDevice { get; }

    public bool HasLabel(string node, string key, string value) =>
        Entries.TryGetValue(node, out var e) && e.Labels.TryGetValue(key, out var v) && v == value;

    public bool HasDevice(string node, string device) =>
        Entries.TryGetValue(node, out var e) && e.Devices.TryGetValue(device, out var n) && n > 0;

    private static void Add(Dictionary<string, List<string>> index, string key, string node)
    {
        if (!index.TryGetValue(key, out var list))
        {
            index[key] = list = [];
        }

        list.Add(node);
    }
}
