using Nefele.Client;
using Nefele.Processes;

namespace Nefele.Silo.Api;

/// <summary>Answer of GET /v1/tenants/{tenant}/processes (ps).</summary>
public sealed record ProcessList(IReadOnlyList<ProcessInfo> Processes);
