namespace Nefele.Tenants;

[GenerateSerializer]
public sealed class TenantRecord
{
    [Id(0)] public HashSet<string> Npids { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Processes that ended, oldest first, at most <see cref="EndedKept"/> (ps -a).</summary>
    [Id(1)] public List<string> Ended { get; set; } = [];

    /// <summary>The tenant itself; null until the tenant directory created it (or after it was removed).</summary>
    [Id(2)] public TenantInfo? Info { get; set; }

    /// <summary>The tenant's API keys: name → key id.</summary>
    [Id(3)] public Dictionary<string, string> Keys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>What each live process counts against the quotas.</summary>
    [Id(4)] public Dictionary<string, QuotaCharge> Charges { get; set; } = new(StringComparer.Ordinal);

    public const int EndedKept = 1000;
}
