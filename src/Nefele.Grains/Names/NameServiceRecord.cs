using Nefele.Client;

namespace Nefele.Naming;

/// <summary>The persisted state of one tenant's name service.</summary>
[GenerateSerializer]
public sealed class NameServiceRecord
{
    /// <summary>Names and service ids, each with its holders in registration order.</summary>
    [Id(0)] public Dictionary<string, List<NameHolder>> Names { get; set; } = [];

    /// <summary>Topics, each with its subscribers in subscription order.</summary>
    [Id(1)] public Dictionary<string, List<NameHolder>> Topics { get; set; } = [];

    [Id(2)] public ulong Version { get; set; }

    /// <summary>The nodes that hold a copy of the tables (they run, or ran, processes of the tenant).</summary>
    [Id(3)] public List<string> Nodes { get; set; } = [];
}
