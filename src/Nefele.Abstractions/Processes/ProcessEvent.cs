namespace Nefele.Client;

/// <summary>
/// One state transition of a process, as its monitors receive it. Seq counts transitions
/// from 1, so a monitor that resumes after Seq n receives every later one exactly once.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ProcessEvent
{
    /// <summary>The process.</summary>
    [Id(0)] public required string Npid { get; init; }
    /// <summary>The transition's number, from 1, one more each time: resume a monitor after it.</summary>
    [Id(1)] public required long Seq { get; init; }
    /// <summary>The state entered.</summary>
    [Id(2)] public required ProcessState State { get; init; }
    /// <summary>The node it is placed on (null before placement).</summary>
    [Id(3)] public string? Node { get; init; }
    /// <summary>Its pid on that node (0 before it starts).</summary>
    [Id(4)] public int Pid { get; init; }
    /// <summary>How it ended, on the terminal event.</summary>
    [Id(5)] public ProcessEnd? End { get; init; }
    /// <summary>When the transition happened.</summary>
    [Id(6)] public DateTimeOffset At { get; init; }
}
