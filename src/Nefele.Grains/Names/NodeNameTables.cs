using System.Collections.Concurrent;

namespace Nefele.Naming;

/// <summary>
/// The tenants' name tables this silo has handed to its node's hostd, the newest of each, and the
/// other nodes their holders live on. Kept by the silo rather than by the node grain: Orleans
/// deactivates an activation whose grain-directory entry lived on a silo that died or left, so
/// the node grain can lose its memory when another node goes — exactly when
/// <see cref="LostNodeNames"/> needs these tables to take that node's names away.
/// </summary>
public sealed class NodeNameTables
{
    private readonly ConcurrentDictionary<string, Kept> _tables = new(StringComparer.Ordinal);

    /// <summary>A table and the other nodes its holders are on (worked out once per version).</summary>
    public sealed record Kept(NameTable Table, IReadOnlyList<string> HolderNodes);

    /// <summary>The newest table of every tenant.</summary>
    public IEnumerable<Kept> All => _tables.Values;

    /// <summary>The newest table of <paramref name="tenant"/>, if this node has one.</summary>
    public NameTable? Get(string tenant) => _tables.TryGetValue(tenant, out var kept) ? kept.Table : null;

    /// <summary>Keeps <paramref name="table"/> when it is newer than the one kept; answers whether it was.</summary>
    public bool Offer(NameTable table, string self)
    {
        Kept? fresh = null;
        while (true)
        {
            if (_tables.TryGetValue(table.Tenant, out var kept))
            {
                if (kept.Table.Version >= table.Version)
                {
                    return false;
                }

                fresh ??= new Kept(table, HolderNodesOf(table, self));
                if (_tables.TryUpdate(table.Tenant, fresh, kept))
                {
                    return true;
                }
            }
            else
            {
                fresh ??= new Kept(table, HolderNodesOf(table, self));
                if (_tables.TryAdd(table.Tenant, fresh))
                {
                    return true;
                }
            }
        }
    }

    private static string[] HolderNodesOf(NameTable table, string self) =>
        table.Names.Concat(table.Topics).SelectMany(e => e.Holders)
            .Select(h => h.Node).OfType<string>()
            .Where(n => !string.Equals(n, self, StringComparison.Ordinal))
            .Distinct(StringComparer.Ordinal)
            .ToArray();
}
