using Nefele.Client;

namespace Nefele.Auth;

/// <summary>Answer of GET /v1/whoami: the key the request was made with.</summary>
public sealed record WhoAmI(string Key, string? Tenant, Role Role);
