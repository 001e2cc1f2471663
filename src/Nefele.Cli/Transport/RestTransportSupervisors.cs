using System.Text.Json;
using Nefele.Cli.Json;
using Nefele.Client;

namespace Nefele.Cli.Transport;

/// <summary>The supervisor routes of the REST API (/v1/tenants/{tenant}/supervisors).</summary>
internal sealed partial class RestTransport : ISupervisorTransport
{
    private string SupervisorPath(string name) => tenantPath + "supervisors/" + Uri.EscapeDataString(name);

    public async Task<IReadOnlyList<string>> ListSupervisorsAsync(CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Get, tenantPath + "supervisors", Repeatable.Yes, ct).ConfigureAwait(false);
        return (await ReadJsonAsync(response, NefJsonContext.Default.SupervisorListDto, ct).ConfigureAwait(false)).Supervisors;
    }

    public async Task<SupervisorStatus> GetSupervisorAsync(string name, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Get, SupervisorPath(name), Repeatable.Yes, ct).ConfigureAwait(false);
        return await ReadJsonAsync(response, NefJsonContext.Default.SupervisorStatus, ct).ConfigureAwait(false);
    }

    public async Task<SupervisorStatus> StartSupervisorAsync(string name, System.Text.Json.Nodes.JsonObject spec, CancellationToken ct)
    {
        // PUT with the same spec answers the running supervisor: repeating it elsewhere starts nothing twice.
        var json = System.Text.Encoding.UTF8.GetBytes(spec.ToJsonString());
        using var response = await SendAsync(HttpMethod.Put, SupervisorPath(name), Repeatable.Yes, ct, () => Json(json)).ConfigureAwait(false);
        return await ReadJsonAsync(response, NefJsonContext.Default.SupervisorStatus, ct).ConfigureAwait(false);
    }

    public async Task<SupervisorStatus> ResizeSupervisorAsync(string name, int size, CancellationToken ct)
    {
        // Resizing to a size is the same twice.
        var json = JsonSerializer.SerializeToUtf8Bytes(new ResizeDto(size), NefJsonContext.Default.ResizeDto);
        using var response = await SendAsync(HttpMethod.Post, SupervisorPath(name) + "/resize", Repeatable.Yes, ct, () => Json(json)).ConfigureAwait(false);
        return await ReadJsonAsync(response, NefJsonContext.Default.SupervisorStatus, ct).ConfigureAwait(false);
    }

    public async Task StopSupervisorAsync(string name, CancellationToken ct)
    {
        // Not repeated elsewhere once it may have arrived: a second delete of a stopped supervisor is supervisor_not_found.
        using var response = await SendAsync(HttpMethod.Delete, SupervisorPath(name), Repeatable.No, ct).ConfigureAwait(false);
    }
}
