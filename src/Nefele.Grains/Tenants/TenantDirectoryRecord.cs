using Nefele.Client;

namespace Nefele.Tenants;

[GenerateSerializer]
public sealed class TenantDirectoryRecord
{
    /// <summary>Every tenant by name.</summary>
    [Id(0)] public Dictionary<string, TenantInfo> Tenants { get; set; } = new(StringComparer.Ordinal);

    /// <summary>How many uids were ever given out: the next tenant gets the range's start plus this.</summary>
    [Id(1)] public long UidsGiven { get; set; }
}
