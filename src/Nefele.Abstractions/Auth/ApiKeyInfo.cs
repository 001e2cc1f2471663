namespace Nefele.Client;

/// <summary>What anyone may see of a key: its name, scope and lifetime, never the secret or its hash.</summary>
[GenerateSerializer, Immutable]
public sealed record ApiKeyInfo
{
    [Id(0)] public required string Name { get; init; }
    [Id(1)] public string? Tenant { get; init; }
    [Id(2)] public required Role Role { get; init; }
    [Id(3)] public DateTimeOffset CreatedAt { get; init; }
    [Id(4)] public DateTimeOffset? ExpiresAt { get; init; }
    [Id(5)] public bool Revoked { get; init; }
}
