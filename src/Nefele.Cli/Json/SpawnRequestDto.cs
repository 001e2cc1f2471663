using Nefele.Processes;

namespace Nefele.Cli.Json;

/// <summary>Body of POST /v1/tenants/{tenant}/spawn.</summary>
internal sealed record SpawnRequestDto
{
    public string? RequestId { get; init; }

    public int Count { get; init; } = 1;

    public bool AllowPartial { get; init; }

    public bool Spread { get; init; }

    public required IReadOnlyList<ProcessSpec> Tasks { get; init; }
}
