using Nefele.Client;
using Nefele.Processes;

namespace Nefele.Cli.Json;

/// <summary>Body of GET /v1/tenants/{tenant}/processes.</summary>
internal sealed record ProcessListDto
{
    public IReadOnlyList<ProcessInfo> Processes { get; init; } = [];
}
