namespace Nefele.Tenants;

[GenerateSerializer]
public sealed class TenantRecord
{
    [Id(0)] public HashSet<string> Npids { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Processes that ended, oldest first, at most <see cref="EndedKept"/> (ps -a).</summary>
    [Id(1)] public List<string> Ended { get; set; } = [];

    public const int EndedKept = 1000;
}
