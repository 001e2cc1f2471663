namespace Nefele.Messaging;

/// <summary>
/// Where the router reads a tenant's names and topics for the sends hostd did not resolve itself
/// (the SDK's and REST's sends to a name, a publish's subscribers on other nodes), and whom it
/// tells that an external mailbox was dropped (its names die with it): the tenant's name service
/// grain (<see cref="NameServiceSource"/>).
/// </summary>
public interface IMessagingNameSource
{
    /// <summary>
    /// The holders of <paramref name="name"/> (subscribers when <paramref name="topic"/>), in
    /// registration order, each with its node ("" for an external mailbox); empty when none.
    /// </summary>
    ValueTask<IReadOnlyList<(string Npid, string Node)>> HoldersAsync(string tenant, string name, bool topic, CancellationToken ct);

    /// <summary>The external mailbox <paramref name="address"/> of <paramref name="tenant"/> was dropped.</summary>
    ValueTask MailboxDroppedAsync(string tenant, string address, CancellationToken ct);
}
