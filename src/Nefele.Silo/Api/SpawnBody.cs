using Nefele.Processes;

namespace Nefele.Silo.Api;

/// <summary>Body of POST /v1/tenants/{tenant}/spawn.</summary>
public sealed record SpawnBody
{
    /// <summary>Client-chosen id that makes retries idempotent; one is made when absent.</summary>
    public string? RequestId { get; init; }

    /// <summary>Copies of the one task (nspawn); 1 for spawn and cspawn.</summary>
    public int Count { get; init; } = 1;

    public bool AllowPartial { get; init; }

    /// <summary>Put the tasks on distinct nodes as far as possible.</summary>
    public bool Spread { get; init; }

    public IReadOnlyList<ProcessSpec> Tasks { get; init; } = [];
}
