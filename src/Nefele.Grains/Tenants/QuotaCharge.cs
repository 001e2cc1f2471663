using Nefele.Client;

namespace Nefele.Tenants;

/// <summary>What one process (or one admitted request) counts against its tenant's quotas.</summary>
[GenerateSerializer, Immutable]
public readonly record struct QuotaCharge(
    [property: Id(0)] int Processes,
    [property: Id(1)] long CpuMillis,
    [property: Id(2)] long MemoryBytes)
{
    public static QuotaCharge operator +(QuotaCharge a, QuotaCharge b) =>
        new(a.Processes + b.Processes, a.CpuMillis + b.CpuMillis, a.MemoryBytes + b.MemoryBytes);

    public static QuotaCharge operator -(QuotaCharge a, QuotaCharge b) =>
        new(a.Processes - b.Processes, a.CpuMillis - b.CpuMillis, a.MemoryBytes - b.MemoryBytes);
}
