using Nefele.Client;
using Nefele.Retention;

namespace Nefele.Tenants;

/// <summary>
/// One page of a tenant's large lists, stored as a record of its own so a change rewrites its
/// page, not the whole list (<see cref="TenantGrain"/>, TenantGrain.Pages.cs): either live NPIDs
/// with their quota charges, or a run of retained records in the order they were retained.
/// Immutable once made: the tenant builds a new page for every write and never changes one it
/// handed to storage, so the embedded store keeps it as it is instead of deep-copying the page
/// (up to 256 entries) on every write.
/// </summary>
[GenerateSerializer, Immutable]
public sealed class TenantPage
{
    /// <summary>A live page: NPID → its charge (the zero charge: a process indexed without one, e.g. adopted).</summary>
    [Id(0)] public Dictionary<string, QuotaCharge> Live { get; set; } = new(StringComparer.Ordinal);

    /// <summary>A retained page: the sequence number of <see cref="Retained"/>'s first entry.</summary>
    [Id(1)] public long First { get; set; }

    /// <summary>A retained page: consecutive entries from <see cref="First"/>.</summary>
    [Id(2)] public List<Retained> Retained { get; set; } = [];
}
