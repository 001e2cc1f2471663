namespace Nefele.Client;

/// <summary>
/// One child of a supervisor: a Nefele process (placed as any spawn, on any node) or a nested
/// supervisor, with its restart type and shutdown.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ChildSpec
{
    /// <summary>The child's id within its supervisor: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.</summary>
    [Id(0)] public required string Id { get; init; }

    /// <summary>When it is restarted; default permanent.</summary>
    [Id(1)] public RestartType Restart { get; init; } = RestartType.Permanent;

    /// <summary>
    /// How it is stopped: "brutal_kill" (SIGKILL at once), "infinity" (SIGTERM, then wait for as long as
    /// it takes) or a timeout such as "5s" or "500ms" (SIGTERM, wait that long, then SIGKILL).
    /// Null: "5s" for a process, "infinity" for a supervisor (OTP's defaults).
    /// </summary>
    [Id(2)] public string? Shutdown { get; init; }

    /// <summary>The process to run; exactly one of this and <see cref="Supervisor"/> is set.</summary>
    [Id(3)] public ProcessSpec? Process { get; init; }

    /// <summary>A nested supervisor; exactly one of this and <see cref="Process"/> is set.</summary>
    [Id(4)] public SupervisorSpec? Supervisor { get; init; }
}
