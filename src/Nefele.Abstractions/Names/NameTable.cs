using Nefele.Client;

namespace Nefele.Naming;

/// <summary>
/// The whole of one tenant's name and topic tables at one version, as the name service pushes it
/// to every node where the tenant runs (hostd keeps the highest version it has seen).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record NameTable
{
    [Id(0)] public required string Tenant { get; init; }

    /// <summary>Grows with every change, also across restarts of the name service (see NameServiceGrain).</summary>
    [Id(1)] public ulong Version { get; init; }

    [Id(2)] public required IReadOnlyList<NameEntry> Names { get; init; }

    [Id(3)] public required IReadOnlyList<NameEntry> Topics { get; init; }

    /// <summary>True when nothing is registered and nothing ever changed (a node needs no copy of it).</summary>
    public bool IsEmptyInitial => Version == 0 && Names.Count == 0 && Topics.Count == 0;
}
