namespace Nefele.Tenants;

[GenerateSerializer]
public sealed class TenantRecord
{
    [Id(0)] public HashSet<string> Npids { get; set; } = new(StringComparer.Ordinal);
}
