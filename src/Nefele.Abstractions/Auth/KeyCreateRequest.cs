using Nefele.Client;

namespace Nefele.Auth;

/// <summary>Body of POST /v1/tenants/{tenant}/keys (nef key create).</summary>
public sealed record KeyCreateRequest
{
    public required string Name { get; init; }

    /// <summary>owner, member (the default) or viewer.</summary>
    public Role Role { get; init; } = Role.Member;

    /// <summary>Seconds until the key expires; absent: it never expires.</summary>
    public long? ExpiresInSeconds { get; init; }
}
