using System.Text.Json.Serialization;
using Nefele.Processes;

namespace Nefele.Placement;

/// <summary>
/// A spawn as a client sends it (the body of POST /v1/tenants/{tenant}/spawn, and what nef
/// sends): the request plus the client-chosen id that makes retries idempotent. The parent is
/// not part of it: only the process socket knows who is asking.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record SpawnBody
{
    /// <summary>Client-chosen id that makes retries idempotent; one is made when absent.</summary>
    public string? RequestId { get; init; }

    /// <summary>Copies of the one task (nspawn); 1 for spawn and cspawn.</summary>
    public int Count { get; init; } = 1;

    /// <summary>Admit as many tasks as fit instead of all or nothing.</summary>
    public bool AllowPartial { get; init; }

    /// <summary>Put the tasks on distinct nodes as far as possible.</summary>
    public bool Spread { get; init; }

    public IReadOnlyList<ProcessSpec> Tasks { get; init; } = [];

    /// <summary>The request the cluster admits.</summary>
    public SpawnRequest ToRequest() => new() { Tasks = Tasks, Count = Count, AllowPartial = AllowPartial, Spread = Spread };
}
