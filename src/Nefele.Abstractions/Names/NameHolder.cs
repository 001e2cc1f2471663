namespace Nefele.Client;

/// <summary>One holder of a name (or one subscriber of a topic): a process, or an external mailbox.</summary>
[GenerateSerializer, Immutable]
public sealed record NameHolder
{
    /// <summary>The process's NPID, or the external mailbox's address.</summary>
    [Id(0)] public required string Npid { get; init; }

    /// <summary>The node the process runs on; null for an external mailbox (it lives on no node).</summary>
    [Id(1)] public string? Node { get; init; }
}
