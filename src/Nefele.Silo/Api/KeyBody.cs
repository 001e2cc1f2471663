using Nefele.Auth;

namespace Nefele.Silo.Api;

/// <summary>Body of POST /v1/tenants/{tenant}/keys.</summary>
public sealed record KeyBody
{
    public required string Name { get; init; }

    /// <summary>owner, member (the default) or viewer.</summary>
    public Role Role { get; init; } = Role.Member;

    /// <summary>Seconds until the key expires; absent: it never expires.</summary>
    public long? ExpiresInSeconds { get; init; }
}
