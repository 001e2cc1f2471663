namespace Nefele.Client;

/// <summary>
/// The lifecycle of a Nefele process. Pending → Placed → Starting → Running → Exited,
/// with FailedToStart (started but never became a Nefele process) and Lost (its node died).
/// </summary>
public enum ProcessState
{
    /// <summary>Admitted, not placed yet.</summary>
    Pending = 1,
    /// <summary>A node is chosen and its room reserved.</summary>
    Placed = 2,
    /// <summary>The node is starting it (exec, then the handshake).</summary>
    Starting = 3,
    /// <summary>It runs as a Nefele process.</summary>
    Running = 4,
    /// <summary>It ended (exit status or signal in its ProcessEnd). Terminal.</summary>
    Exited = 5,
    /// <summary>It ran but never became a Nefele process (no handshake, refused handshake). Terminal.</summary>
    FailedToStart = 6,
    /// <summary>Its node died or forgot it. Terminal.</summary>
    Lost = 7,
}
