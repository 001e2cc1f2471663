using System.Net.WebSockets;
using Nefele.Client;

namespace Nefele.Cli.Transport;

/// <summary>attach's calls: the REST API only (hostd's api socket has no terminals).</summary>
internal interface IAttachTransport
{
    /// <summary>One process of the tenant (npid_not_found when it has none).</summary>
    Task<ProcessInfo> GetProcessAsync(string npid, CancellationToken ct);

    /// <summary>The endpoint in use, for messages.</summary>
    Uri CurrentEndpoint { get; }

    /// <summary>Opens the attach WebSocket of <paramref name="npid"/> on the endpoint in use.</summary>
    Task<WebSocket> AttachAsync(string npid, bool readOnly, CancellationToken ct);
}
