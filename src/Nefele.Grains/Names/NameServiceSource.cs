using Nefele.Messaging;

namespace Nefele.Naming;

/// <summary>The router's view of the tenants' names: read from, and told about dropped mailboxes by, the name service grains.</summary>
internal sealed class NameServiceSource(IGrainFactory grains) : IMessagingNameSource
{
    public async ValueTask<IReadOnlyList<(string Npid, string Node)>> HoldersAsync(string tenant, string name, bool topic, CancellationToken ct)
    {
        var holders = await grains.Get<INameServiceGrain>(tenant).HoldersAsync(name, topic);
        return holders.Select(h => (h.Npid, h.Node ?? string.Empty)).ToArray();
    }

    public async ValueTask MailboxDroppedAsync(string tenant, string address, CancellationToken ct) =>
        await grains.Get<INameServiceGrain>(tenant).DropHolderAsync(address);
}
