using Nefele.Client;
using Nefele.Processes;

namespace Nefele.Processes;

/// <summary>The persisted state of one process grain.</summary>
[GenerateSerializer]
public sealed class ProcessRecord
{
    [Id(0)] public string? Tenant { get; set; }
    [Id(1)] public ProcessSpec? Spec { get; set; }
    [Id(2)] public string? Parent { get; set; }
    [Id(3)] public ProcessState State { get; set; } = ProcessState.Pending;
    [Id(4)] public string? Node { get; set; }
    [Id(5)] public int Pid { get; set; }
    [Id(6)] public DateTimeOffset CreatedAt { get; set; }
    [Id(7)] public DateTimeOffset? StartedAt { get; set; }
    [Id(8)] public ProcessEnd? End { get; set; }

    /// <summary>Every transition so far, Seq 1.. in order; monitors read from here.</summary>
    [Id(9)] public List<ProcessEvent> Events { get; set; } = [];

    /// <summary>It holds (or held) a name or a topic: its end must tell the tenant's name service.</summary>
    [Id(10)] public bool HoldsNames { get; set; }

    /// <summary>The tenant container it runs in on its node; null on the host.</summary>
    [Id(11)] public string? Container { get; set; }
}
