namespace Nefele.Cli.Json;

/// <summary>Answer of GET .../supervisors: the names of the tenant's supervisors.</summary>
internal sealed record SupervisorListDto(IReadOnlyList<string> Supervisors);
