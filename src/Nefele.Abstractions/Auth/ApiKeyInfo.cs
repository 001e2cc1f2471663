namespace Nefele.Client;

/// <summary>What anyone may see of a key: its name, scope and lifetime, never the secret or its hash.</summary>
[GenerateSerializer, Immutable]
public sealed record ApiKeyInfo
{
    /// <summary>The key's name, unique in its tenant.</summary>
    [Id(0)] public required string Name { get; init; }
    /// <summary>The tenant it belongs to; null for a cluster-wide admin key.</summary>
    [Id(1)] public string? Tenant { get; init; }
    /// <summary>What it may do.</summary>
    [Id(2)] public required Role Role { get; init; }
    /// <summary>When it was created.</summary>
    [Id(3)] public DateTimeOffset CreatedAt { get; init; }
    /// <summary>When it stops working; null: never.</summary>
    [Id(4)] public DateTimeOffset? ExpiresAt { get; init; }
    /// <summary>Revoked: the silos refuse it.</summary>
    [Id(5)] public bool Revoked { get; init; }
}
