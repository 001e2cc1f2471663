using Nefele.Naming;

namespace Nefele.Messaging;

/// <summary>The router's view of the tenant's name service grain (<see cref="INameServiceGrain"/>).</summary>
internal sealed class NameServiceSource(IGrainFactory grains) : IMessagingNameSource
{
    public async ValueTask<IReadOnlyList<(string Npid, string Node)>> HoldersAsync(string tenant, string name, bool topic, CancellationToken ct)
    {
        // The listing is by prefix: the entry of exactly this name, if any.
        var entries = await grains.GetGrain<INameServiceGrain>(tenant).ListAsync(name, topic, ct);
        var entry = entries.FirstOrDefault(e => e.Name == name);
        return entry is null ? [] : entry.Holders.Select(h => (h.Npid, h.Node ?? string.Empty)).ToArray();
    }

    public async ValueTask MailboxDroppedAsync(string tenant, string address, CancellationToken ct) =>
        await grains.GetGrain<INameServiceGrain>(tenant).DropHolderAsync(address);
}
