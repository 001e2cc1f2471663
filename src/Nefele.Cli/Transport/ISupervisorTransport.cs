using Nefele.Client;

namespace Nefele.Cli.Transport;

/// <summary>The tenant's durable supervisors: through the REST API only (hostd's socket has no supervisor calls).</summary>
internal interface ISupervisorTransport
{
    Task<IReadOnlyList<string>> ListSupervisorsAsync(CancellationToken ct);

    Task<SupervisorStatus> GetSupervisorAsync(string name, CancellationToken ct);

    /// <summary>Starts it from <paramref name="spec"/>, the REST API's body (the same spec again answers the running one); answers once every child runs.</summary>
    Task<SupervisorStatus> StartSupervisorAsync(string name, System.Text.Json.Nodes.JsonObject spec, CancellationToken ct);

    Task<SupervisorStatus> ResizeSupervisorAsync(string name, int size, CancellationToken ct);

    /// <summary>Stops its children in reverse order and forgets it.</summary>
    Task StopSupervisorAsync(string name, CancellationToken ct);
}
