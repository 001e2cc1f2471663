namespace Nefele.Client;

/// <summary>
/// The lifecycle of a Nefele process. Pending → Placed → Starting → Running → Exited,
/// with FailedToStart (started but never became a Nefele process) and Lost (its node died).
/// </summary>
public enum ProcessState
{
    Pending = 1,
    Placed = 2,
    Starting = 3,
    Running = 4,
    Exited = 5,
    FailedToStart = 6,
    Lost = 7,
}
