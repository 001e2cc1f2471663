namespace Nefele.Silo.Api;

/// <summary>Answer of GET /v1/tenants/{tenant}/supervisors.</summary>
public sealed record SupervisorList(IReadOnlyList<string> Supervisors);
