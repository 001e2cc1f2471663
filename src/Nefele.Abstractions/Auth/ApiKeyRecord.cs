using Nefele.Client;

namespace Nefele.Auth;

/// <summary>
/// One API key as stored: never the secret, only its SHA-256. The secret is 256 random bits, so a
/// fast hash is as strong as a slow one (there is nothing to guess).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ApiKeyRecord
{
    [Id(0)] public required string Id { get; init; }
    [Id(1)] public required string Name { get; init; }

    /// <summary>The tenant it acts in; null for an admin key.</summary>
    [Id(2)] public string? Tenant { get; init; }
    [Id(3)] public required Role Role { get; init; }

    /// <summary>Lowercase hex SHA-256 of the secret part.</summary>
    [Id(4)] public required string SecretHash { get; init; }
    [Id(5)] public DateTimeOffset CreatedAt { get; init; }

    /// <summary>After this instant the key is refused; null: never expires.</summary>
    [Id(6)] public DateTimeOffset? ExpiresAt { get; init; }
    [Id(7)] public DateTimeOffset? RevokedAt { get; init; }

    public ApiKeyInfo ToInfo() => new()
    {
        Name = Name,
        Tenant = Tenant,
        Role = Role,
        CreatedAt = CreatedAt,
        ExpiresAt = ExpiresAt,
        Revoked = RevokedAt is not null,
    };
}
