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

    Task<LogsReadReply> ReadLogsAsync(string npid, long offset, int maxBytes, TimeSpan wait, CancellationToken ct);

    Task<UsageReply> GetUsageAsync(CancellationToken ct);

    /// <summary>Replaces hostd's copy of one tenant's name and topic tables (hostd keeps the highest version).</summary>
    Task PushNamesAsync(NameTableUpdate update, CancellationToken ct);
}
