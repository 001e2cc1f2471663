using Nefele.Client;

namespace Nefele.Auth;

/// <summary>Answer of POST /v1/tenants/{tenant}/keys: the secret token, shown this once, and what it grants.</summary>
public sealed record CreatedKey(string Key, string Name, string? Tenant, Role Role, DateTimeOffset? ExpiresAt);
