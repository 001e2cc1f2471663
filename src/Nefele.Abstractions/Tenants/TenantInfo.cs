namespace Nefele.Client;

/// <summary>A tenant as the cluster knows it: its name and the POSIX identity its processes run as on every node.</summary>
[GenerateSerializer, Immutable]
public sealed record TenantInfo
{
    [Id(0)] public required string Name { get; init; }

    /// <summary>The tenant's own unprivileged uid (and gid, the same number), allocated once for the cluster.</summary>
    [Id(1)] public uint Uid { get; init; }
    [Id(2)] public uint Gid { get; init; }

    /// <summary>Set by an admin: the tenant's processes run as root. Never the default.</summary>
    [Id(3)] public bool Privileged { get; init; }
    [Id(4)] public DateTimeOffset CreatedAt { get; init; }
    [Id(5)] public TenantQuotas Quotas { get; init; } = new();
}
