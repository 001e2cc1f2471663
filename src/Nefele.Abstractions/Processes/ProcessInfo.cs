namespace Nefele.Client;

/// <summary>One process as ps shows it.</summary>
[GenerateSerializer, Immutable]
public sealed record ProcessInfo
{
    /// <summary>The process's cluster-wide id.</summary>
    [Id(0)] public required string Npid { get; init; }
    /// <summary>The tenant it belongs to.</summary>
    [Id(1)] public required string Tenant { get; init; }
    /// <summary>The node it runs on (null before placement).</summary>
    [Id(2)] public string? Node { get; init; }
    /// <summary>Its pid on that node (0 before it starts).</summary>
    [Id(3)] public int Pid { get; init; }
    /// <summary>Where it is in its lifecycle.</summary>
    [Id(4)] public required ProcessState State { get; init; }
    /// <summary>The CPU it reserved, in millicores (0: best effort).</summary>
    [Id(5)] public long CpuMillis { get; init; }
    /// <summary>Its memory limit in bytes (0: none).</summary>
    [Id(6)] public long MemoryBytes { get; init; }
    /// <summary>When the spawn admitted it.</summary>
    [Id(7)] public DateTimeOffset CreatedAt { get; init; }
    /// <summary>When it became Running; null before.</summary>
    [Id(8)] public DateTimeOffset? StartedAt { get; init; }
    /// <summary>The command line as ps shows it.</summary>
    [Id(9)] public required string Command { get; init; }
    /// <summary>The name given at spawn, if any.</summary>
    [Id(10)] public string? Name { get; init; }
    /// <summary>CPU time used so far, in nanoseconds (measured on its node).</summary>
    [Id(11)] public long CpuUsageNs { get; init; }
    /// <summary>Memory in use now, in bytes (measured on its node).</summary>
    [Id(12)] public long MemoryUsageBytes { get; init; }
    /// <summary>How it ended, once it has.</summary>
    [Id(13)] public ProcessEnd? End { get; init; }

    /// <summary>How many transitions the process has made (the Seq of its latest event).</summary>
    [Id(14)] public long Seq { get; init; }

    /// <summary>The tenant container it runs in on its node; null on the host.</summary>
    [Id(15)] public string? Container { get; init; }

    /// <summary>It runs on a pseudo-terminal (spawn --tty): attach can type into it and resize it.</summary>
    [Id(16)] public bool Tty { get; init; }
}
