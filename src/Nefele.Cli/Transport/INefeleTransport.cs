using Nefele.Cli.Json;
using Nefele.Client;
using Nefele.InProcess;
using Nefele.Processes;
using Message = Nefele.Protocol.V1.Message;
using NameEntry = Nefele.Protocol.V1.NameEntry;

namespace Nefele.Cli.Transport;

/// <summary>
/// The calls nef makes, whichever way it reaches Nefele: the node's REST API from outside,
/// or hostd's api socket from inside a Nefele process. Commands are written once against this.
/// </summary>
internal interface INefeleTransport : IAsyncDisposable
{
    Task<SpawnOutcome> SpawnAsync(SpawnBatch batch, CancellationToken ct);

    Task<IReadOnlyList<Nefele.Client.ProcessInfo>> PsAsync(bool all, CancellationToken ct);

    /// <summary>Waits until the process has ended (answers at once if it already has).</summary>
    Task<Nefele.Client.ProcessEnd> MonitorAsync(string npid, CancellationToken ct);

    Task KillAsync(IReadOnlyList<string> npids, int signal, CancellationToken ct);

    /// <summary>Copies the captured output (of <paramref name="stream"/>, or both) to <paramref name="output"/>; with follow, until the process ends.</summary>
    Task LogsAsync(string npid, bool follow, Stream output, CancellationToken ct, Nefele.Client.LogStream stream = Nefele.Client.LogStream.All);

    /// <summary>
    /// The records of every process of the tenant that matches <paramref name="filter"/>, on every
    /// node, each given to <paramref name="onRecord"/>: merged in time order, then (following) as
    /// they come, until the end the filter implies or <paramref name="ct"/>.
    /// </summary>
    Task QueryLogsAsync(Commands.LogsFilter filter, Func<Nefele.Api.LogRecordEvent, ValueTask> onRecord, CancellationToken ct);

    // Messaging. Inside a process the caller's mailbox is the process's; from outside it is the
    // mailbox of the API key in use (GET /mailbox), which also stands for "me" in register & co.

    /// <summary>Sends a message; returns the number of mailboxes it was put in (ack) or routed to.</summary>
    Task<int> SendAsync(string to, ReadOnlyMemory<byte> data, SendOptions options, CancellationToken ct);

    /// <summary>Takes one message of the caller's mailbox, waiting up to timeout; null when nothing came.</summary>
    Task<Message?> ReceiveAsync(TimeSpan timeout, string? tag, CancellationToken ct);

    /// <summary>Registers npid (null: the caller) under name; returns the holders after it.</summary>
    Task<IReadOnlyList<string>> RegisterAsync(string name, string? npid, CancellationToken ct);

    Task UnregisterAsync(string name, string? npid, CancellationToken ct);

    /// <summary>Waits until name has a holder; returns the holders, or null when nobody registered it in time.</summary>
    Task<IReadOnlyList<string>?> WaitForNameAsync(string name, TimeSpan timeout, CancellationToken ct);

    /// <summary>The tenant's names (or topics) starting with prefix, with their holders.</summary>
    Task<IReadOnlyList<NameEntry>> ListNamesAsync(string? prefix, bool topics, CancellationToken ct);

    Task SubscribeAsync(string topic, string? npid, CancellationToken ct);

    Task UnsubscribeAsync(string topic, string? npid, CancellationToken ct);
}
