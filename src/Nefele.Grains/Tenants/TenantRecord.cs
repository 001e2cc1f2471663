using Nefele.Retention;

namespace Nefele.Tenants;

[GenerateSerializer]
public sealed class TenantRecord
{
    [Id(0)] public HashSet<string> Npids { get; set; } = new(StringComparer.Ordinal);

    // Id 1 held the ended NPIDs before they carried their end time (now Id 5).

    /// <summary>The tenant itself; null until the tenant directory created it (or after it was removed).</summary>
    [Id(2)] public TenantInfo? Info { get; set; }

    /// <summary>The tenant's API keys: name → key id.</summary>
    [Id(3)] public Dictionary<string, string> Keys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>What each live process counts against the quotas.</summary>
    [Id(4)] public Dictionary<string, QuotaCharge> Charges { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Processes that ended and are still kept, oldest end first (see <see cref="RetentionOptions"/>).</summary>
    [Id(5)] public List<Retained> Ended { get; set; } = [];

    /// <summary>Spawn requests whose records are kept (their ids stay idempotent), oldest first.</summary>
    [Id(6)] public List<Retained> Requests { get; set; } = [];

    /// <summary>
    /// The highest NPID collected so far: the tombstone that lets a missing NPID at or below it
    /// be told it was collected. One NPID per tenant, whatever was collected (NPIDs sort by creation).
    /// </summary>
    [Id(7)] public string? CollectedThrough { get; set; }

    /// <summary>How many ended processes ps -a lists: the most recent of those kept.</summary>
    public const int EndedListed = 1000;
}
