namespace Nefele.Client;

/// <summary>One child of a supervisor as it is now.</summary>
[GenerateSerializer, Immutable]
public sealed record ChildStatus
{
    /// <summary>Its id (for a pool, the template's id and a number: "worker-3").</summary>
    [Id(0)] public required string Id { get; init; }

    /// <summary>Its NPID (a process) or its supervisor's name (a nested supervisor) while it runs; else null.</summary>
    [Id(1)] public string? Npid { get; init; }

    /// <summary>Where it is.</summary>
    [Id(2)] public ChildPhase Phase { get; init; }

    /// <summary>How many times the supervisor started it again.</summary>
    [Id(3)] public int Restarts { get; init; }

    /// <summary>How its last run ended ("exited 3", "killed by SIGKILL", "lost: …"); null while it has not ended yet.</summary>
    [Id(4)] public string? LastEnd { get; init; }

    /// <summary>Its restart type.</summary>
    [Id(5)] public RestartType Restart { get; init; }
}
