namespace Nefele.Client;

/// <summary>How a process ended.</summary>
[GenerateSerializer, Immutable]
public sealed record ProcessEnd
{
    /// <summary>Exited, FailedToStart or Lost.</summary>
    [Id(0)] public required ProcessState State { get; init; }

    /// <summary>Exit status when it exited normally, else -1.</summary>
    [Id(1)] public int ExitCode { get; init; } = -1;

    /// <summary>The terminating signal, 0 when it exited normally.</summary>
    [Id(2)] public int Signal { get; init; }

    /// <summary>The signal left a core dump.</summary>
    [Id(3)] public bool CoreDumped { get; init; }

    /// <summary>Killed by the kernel's OOM killer for going over its memory limit.</summary>
    [Id(4)] public bool OomKilled { get; init; }

    /// <summary>Why it failed to start or was lost.</summary>
    [Id(5)] public string? Reason { get; init; }

    /// <summary>When it ended (as the node saw it).</summary>
    [Id(6)] public DateTimeOffset EndedAt { get; init; }

    /// <summary>The same as <see cref="Describe"/>, for JSON readers.</summary>
    public string Description => Describe();

    /// <summary>One line as nef monitor prints it: "exited 3", "killed by SIGKILL", "failed to start: …".</summary>
    public string Describe() => State switch
    {
        ProcessState.FailedToStart => $"failed to start: {Reason}",
        ProcessState.Lost => $"lost: {Reason}",
        _ when Signal != 0 => $"killed by {Signals.Name(Signal)}"
            + (OomKilled ? " (out of memory)" : string.Empty)
            + (CoreDumped ? " (core dumped)" : string.Empty),
        _ => $"exited {ExitCode}",
    };
}
