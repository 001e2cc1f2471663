using Nefele.Auth;
using Orleans.Concurrency;
using Nefele.Client;

namespace Nefele.Nodes;

/// <summary>
/// The cluster's node directory (one, keyed <see cref="Key"/>): the labels and devices real
/// nodes registered, and the hollow nodes. Admission reads it through a per-silo cache, so it
/// is asked once every few seconds per silo, not once per request. Which real nodes are alive
/// is Orleans membership's answer, not this grain's.
/// </summary>
public interface INodeDirectoryGrain : IGrainWithStringKey
{
    public const string Key = "cluster";

    [AlwaysInterleave]
    Task<NodeDirectorySnapshot> GetAsync();

    /// <summary>A real node says which labels and devices it has (on start and when they change).</summary>
    Task RegisterAsync(NodeEntry node);

    /// <summary>
    /// Creates <paramref name="count"/> hollow nodes after the existing ones (hollow-&lt;n&gt;, n counting
    /// on) with <paramref name="template"/>'s capacity, labels and devices; returns their names.
    /// </summary>
    [Access(Role.Admin, TenantFrom.Cluster)]
    Task<IReadOnlyList<string>> AddHollowAsync(int count, HollowNode template);

    /// <summary>Removes every hollow node; the processes they ran end as Lost. Returns how many were removed.</summary>
    [Access(Role.Admin, TenantFrom.Cluster)]
    Task<int> RemoveHollowAsync();
}
