namespace Nefele.Cli.Json;

/// <summary>One process as GET /v1/tenants/{tenant}/processes lists it (and ps --json prints it).</summary>
internal sealed record ProcessInfoDto
{
    public required string Npid { get; init; }

    public string? Tenant { get; init; }

    public string? Node { get; init; }

    public int Pid { get; init; }

    public required string State { get; init; }

    public long CpuMillis { get; init; }

    public long MemoryBytes { get; init; }

    public DateTimeOffset? CreatedAt { get; init; }

    public DateTimeOffset? StartedAt { get; init; }

    public string? Command { get; init; }

    public string? Name { get; init; }

    public long CpuUsageNs { get; init; }

    public long MemoryUsageBytes { get; init; }

    public ProcessEndDto? End { get; init; }
}
