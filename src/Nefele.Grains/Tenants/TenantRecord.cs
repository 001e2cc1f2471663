using Nefele.Client;
using Nefele.Retention;

namespace Nefele.Tenants;

[GenerateSerializer]
public sealed class TenantRecord
{
    // Ids 0, 4, 5 and 6 held the live index and the retained lists before they moved to pages of
    // their own (TenantPage): read once from a record written before, then written empty.

    /// <summary>Live NPIDs (before pages; see above).</summary>
    [Id(0)] public HashSet<string> Npids { get; set; } = new(StringComparer.Ordinal);

    // Id 1 held the ended NPIDs before they carried their end time (now Id 5).

    /// <summary>The tenant itself; null until the tenant directory created it (or after it was removed).</summary>
    [Id(2)] public TenantInfo? Info { get; set; }

    /// <summary>The tenant's API keys: name → key id.</summary>
    [Id(3)] public Dictionary<string, string> Keys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>What each live process counts against the quotas (before pages).</summary>
    [Id(4)] public Dictionary<string, QuotaCharge> Charges { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Processes that ended and are still kept, oldest end first (before pages; see <see cref="RetentionOptions"/>).</summary>
    [Id(5)] public List<Retained> Ended { get; set; } = [];

    /// <summary>Spawn requests whose records are kept (their ids stay idempotent), oldest first (before pages).</summary>
    [Id(6)] public List<Retained> Requests { get; set; } = [];

    /// <summary>
    /// The highest NPID collected so far: the tombstone that lets a missing NPID at or below it
    /// be told it was collected. One NPID per tenant, whatever was collected (NPIDs sort by creation).
    /// </summary>
    [Id(7)] public string? CollectedThrough { get; set; }

    /// <summary>The pages that hold live NPIDs.</summary>
    [Id(8)] public HashSet<int> LivePages { get; set; } = [];

    /// <summary>The number the next live page gets (page numbers are never reused).</summary>
    [Id(9)] public int NextLivePage { get; set; }

    /// <summary>Sequence numbers of the first kept ended process and of the next one to be retained.</summary>
    [Id(10)] public long EndedFirst { get; set; }

    [Id(11)] public long EndedNext { get; set; }

    /// <summary>Sequence numbers of the first kept spawn request and of the next one to be retained.</summary>
    [Id(12)] public long RequestsFirst { get; set; }

    [Id(13)] public long RequestsNext { get; set; }

    /// <summary>How many ended processes ps -a lists: the most recent of those kept.</summary>
    public const int EndedListed = 1000;
}
