using Nefele.Cli.Json;
using Nefele.Client;
using Nefele.Processes;

namespace Nefele.Cli.Transport;

/// <summary>
/// The calls nef makes, whichever way it reaches Nefele: the node's REST API from outside,
/// or hostd's api socket from inside a Nefele process. Commands are written once against this.
/// </summary>
internal interface INefeleTransport : IAsyncDisposable
{
    Task<SpawnOutcome> SpawnAsync(SpawnBatch batch, CancellationToken ct);

    Task<IReadOnlyList<ProcessInfo>> PsAsync(bool all, CancellationToken ct);

    /// <summary>Waits until the process has ended (answers at once if it already has).</summary>
    Task<ProcessEnd> MonitorAsync(string npid, CancellationToken ct);

    Task KillAsync(IReadOnlyList<string> npids, int signal, CancellationToken ct);

    /// <summary>Copies the captured output to <paramref name="output"/>; with follow, until the process ends.</summary>
    Task LogsAsync(string npid, bool follow, Stream output, CancellationToken ct);
}
