namespace Nefele.Messaging;

/// <summary>
/// The messaging end of one node, keyed by node name and placed on that node's silo (as the node
/// grain): hands batches from routers on any silo to its hostd, in the order given. Internal to
/// the cluster (no method is client-callable).
/// </summary>
public interface INodeMailGrain : IGrainWithStringKey
{
    /// <summary>
    /// Puts each item in its targets' mailboxes on this node, in order (one DeliverRequest each,
    /// written to hostd back to back); one result per item.
    /// </summary>
    Task<IReadOnlyList<DeliveryResult>> DeliverAsync(IReadOnlyList<MailItem> batch);

    /// <summary>The node's mailbox counters.</summary>
    Task<MailboxStats> GetStatsAsync();
}
