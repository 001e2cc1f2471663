namespace Nefele.Supervision;

/// <summary>
/// What the supervisor does next: stop <see cref="Stop"/> one after another (already in reverse start
/// order), then start <see cref="Start"/> one after another (in start order); or, when
/// <see cref="GiveUp"/> is set, stop every child in reverse order and end with that reason.
/// </summary>
public sealed record SupervisorPlan(IReadOnlyList<string> Stop, IReadOnlyList<string> Start, string? GiveUp = null)
{
    /// <summary>Nothing to do.</summary>
    public static readonly SupervisorPlan None = new([], []);

    /// <summary>True when there is nothing to do.</summary>
    public bool IsEmpty => Stop.Count == 0 && Start.Count == 0 && GiveUp is null;
}
