namespace Nefele.Client;

/// <summary>
/// One state transition of a process, as its monitors receive it. Seq counts transitions
/// from 1, so a monitor that resumes after Seq n receives every later one exactly once.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ProcessEvent
{
    [Id(0)] public required string Npid { get; init; }
    [Id(1)] public required long Seq { get; init; }
    [Id(2)] public required ProcessState State { get; init; }
    [Id(3)] public string? Node { get; init; }
    [Id(4)] public int Pid { get; init; }
    [Id(5)] public ProcessEnd? End { get; init; }
    [Id(6)] public DateTimeOffset At { get; init; }
}
