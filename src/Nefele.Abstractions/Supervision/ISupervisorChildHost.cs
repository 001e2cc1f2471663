namespace Nefele.Supervision;

/// <summary>
/// Where a supervisor's children run, for <see cref="SupervisorRunner"/>: the durable grain spawns
/// them through the silo's grains, the program-local supervisor through the SDK. Both are Nefele
/// processes (or nested supervisors); only the way to reach them differs.
/// </summary>
public interface ISupervisorChildHost
{
    /// <summary>
    /// Starts the child and answers its reference (an NPID, or a nested supervisor's name) once it runs.
    /// <paramref name="requestId"/> is the same when a start is retried (after a move to another node),
    /// so a retry answers the process the first attempt started. Throws <see cref="Client.NefeleException"/>
    /// when it cannot start (refused, quota, failed to start).
    /// </summary>
    Task<string> StartAsync(Client.ChildSpec child, string requestId, CancellationToken ct);

    /// <summary>Completes when the run <paramref name="reference"/> has ended (at once when it already has).</summary>
    Task<ChildExit> WaitEndAsync(string reference, Client.ChildSpec child, CancellationToken ct);

    /// <summary>Sends <paramref name="signal"/> to a process child; one that already ended is no error.</summary>
    Task SignalAsync(string reference, int signal, CancellationToken ct);

    /// <summary>Stops a nested supervisor (its children in reverse order) and answers once it has ended.</summary>
    Task StopSupervisorAsync(string reference, CancellationToken ct);

    /// <summary>Keeps the state after a change (the durable grain writes it to storage).</summary>
    Task SaveAsync(SupervisorState state);
}
