using Nefele.Client;
using Nefele.Processes;
using Nefele.Protocol.V1;
using Nefele.Tenants;
using ProcessSpec = Nefele.Client.ProcessSpec;

namespace Nefele.Nodes;

/// <summary>
/// This silo's channel to its node's hostd (design.md §4). One per silo; the node grain,
/// which always lives on the same silo, is its only user for commands.
/// </summary>
public interface IHostAgentChannel
{
    /// <summary>The node this silo runs on.</summary>
    string Node { get; }

    /// <summary>What hostd reported about the machine when it attached; null until then.</summary>
    NodeFacts? Facts { get; }

    Task<LaunchReply> LaunchAsync(string npid, string tenant, ProcessSpec spec, RunAs runAs, CancellationToken ct);

    Task SignalAsync(string npid, int signal, CancellationToken ct);

    /// <summary>Types into a tty process's terminal and/or sets its window size (rows and columns both non-zero).</summary>
    /// <exception cref="Nefele.Client.NefeleException">npid_not_found, not_running, bad_request (no terminal), node_unavailable.</exception>
    Task TerminalInputAsync(string npid, ReadOnlyMemory<byte> data, int rows, int columns, CancellationToken ct);

    Task<LogsReadReply> ReadLogsAsync(LogsReadRequest request, CancellationToken ct);

    Task<UsageReply> GetUsageAsync(CancellationToken ct);

    /// <summary>
    /// Hands <paramref name="batch"/> to hostd in order (written back to back, one call's worth of
    /// waiting for all): one DeliverReply per request, or the Error hostd answered it with.
    /// </summary>
    /// <exception cref="Nefele.Client.NefeleException">node_unavailable: hostd is not attached or went away.</exception>
    Task<IReadOnlyList<(DeliverReply? Reply, Error? Error)>> DeliverAsync(IReadOnlyList<DeliverRequest> batch, CancellationToken ct);

    /// <summary>hostd's mailbox counters.</summary>
    Task<MailboxStatsReply> GetMailboxStatsAsync(CancellationToken ct);

    /// <summary>
    /// Has hostd pack the development overlay of <paramref name="tenant"/>'s container of
    /// <paramref name="image"/> (pinned) into the upload <paramref name="upload"/> the image store began.
    /// </summary>
    /// <exception cref="Nefele.Client.NefeleException">not_development_mode, overlay_not_found, image_not_found, node_unavailable.</exception>
    Task<CommitReply> CommitAsync(string tenant, string image, string upload, CancellationToken ct);

    /// <summary>Replaces hostd's copy of one tenant's name and topic tables (hostd keeps the highest version).</summary>
    Task PushNamesAsync(NameTableUpdate update, CancellationToken ct);
}
