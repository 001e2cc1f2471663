using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Messaging;

/// <summary>
/// This node's copy of one tenant's name and topic tables, as the name-service grains last pushed
/// it (a whole snapshot with a version; hostd keeps the highest). Immutable: a push replaces it.
/// </summary>
internal sealed class TenantNames
{
    private static readonly NameHolder[] None = [];
    private readonly Dictionary<string, NameHolder[]> names;
    private readonly Dictionary<string, NameHolder[]> topics;

    private TenantNames(ulong version, Dictionary<string, NameHolder[]> names, Dictionary<string, NameHolder[]> topics)
    {
        Version = version;
        this.names = names;
        this.topics = topics;
    }

    public static TenantNames Empty { get; } = new(0, new(StringComparer.Ordinal), new(StringComparer.Ordinal));

    public ulong Version { get; }

    public static TenantNames Of(NameTableUpdate update) => new(update.Version, Index(update.Names), Index(update.Topics));

    /// <summary>Holders of a name or service id, in registration order; empty when nobody holds it.</summary>
    public IReadOnlyList<NameHolder> Holders(string name) => names.GetValueOrDefault(name, None);

    /// <summary>Subscribers of a topic, in subscription order.</summary>
    public IReadOnlyList<NameHolder> Subscribers(string topic) => topics.GetValueOrDefault(topic, None);

    /// <summary>Entries whose name starts with <paramref name="prefix"/>, sorted by name; entries without holders are left out.</summary>
    public IEnumerable<NameEntry> List(string prefix, bool ofTopics)
    {
        var table = ofTopics ? topics : names;
        return table
            .Where(e => e.Value.Length > 0 && e.Key.StartsWith(prefix, StringComparison.Ordinal))
            .OrderBy(e => e.Key, StringComparer.Ordinal)
            .Select(e => new NameEntry { Name = e.Key, Holders = { e.Value } });
    }

    private static Dictionary<string, NameHolder[]> Index(IEnumerable<NameEntry> entries)
    {
        var index = new Dictionary<string, NameHolder[]>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            index[entry.Name] = [.. entry.Holders];
        }

        return index;
    }
}
