namespace Nefele.Client;

/// <summary>A tenant as the cluster knows it: its name and the POSIX identity its processes run as on every node.</summary>
[GenerateSerializer, Immutable]
public sealed record TenantInfo
{
    /// <summary>The tenant's name.</summary>
    [Id(0)] public required string Name { get; init; }

    /// <summary>The tenant's own unprivileged uid (and gid, the same number), allocated once for the cluster.</summary>
    [Id(1)] public uint Uid { get; init; }
    /// <summary>The tenant's gid (the same number as its uid).</summary>
    [Id(2)] public uint Gid { get; init; }

    /// <summary>Set by an admin: the tenant's processes run as root. Never the default.</summary>
    [Id(3)] public bool Privileged { get; init; }
    /// <summary>When it was created.</summary>
    [Id(4)] public DateTimeOffset CreatedAt { get; init; }
    /// <summary>What it may hold at once and how fast it may spawn.</summary>
    [Id(5)] public TenantQuotas Quotas { get; init; } = new();

    /// <summary>The image (<c>NAME[:TAG]</c>) a spawn that names none runs from; null: the node's own filesystem.</summary>
    [Id(6)] public string? DefaultImage { get; init; }
}
