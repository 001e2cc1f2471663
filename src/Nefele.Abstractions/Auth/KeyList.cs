using Nefele.Client;

namespace Nefele.Auth;

/// <summary>Answer of GET /v1/tenants/{tenant}/keys.</summary>
public sealed record KeyList(IReadOnlyList<ApiKeyInfo> Keys);
