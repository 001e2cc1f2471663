namespace Nefele.Messaging;

/// <summary>The <see cref="IMessagingNameSource"/> of a silo without a name service: no holders, nobody to tell.</summary>
internal sealed class NoNameSource : IMessagingNameSource
{
    public ValueTask<IReadOnlyList<(string Npid, string Node)>> HoldersAsync(string tenant, string name, bool topic, CancellationToken ct) =>
        ValueTask.FromResult<IReadOnlyList<(string Npid, string Node)>>([]);

    public ValueTask MailboxDroppedAsync(string tenant, string address, CancellationToken ct) => ValueTask.CompletedTask;
}
