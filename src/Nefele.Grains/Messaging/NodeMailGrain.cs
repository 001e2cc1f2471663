using Google.Protobuf;
using Nefele.Client;
using Nefele.Errors;
using Nefele.Nodes;
using Nefele.Protocol.V1;
using Orleans.Concurrency;

namespace Nefele.Messaging;

/// <summary>
/// The node's messaging end, on the node's own silo next to its hostd: every batch a router on
/// any silo sends here goes down the control channel as DeliverRequests, in order. Reentrant:
/// routers on different silos do not wait for each other (each keeps its own order, one call in
/// flight per node).
/// </summary>
[NodeLocalPlacement, Reentrant]
public sealed class NodeMailGrain(HostAgents agents) : Grain, INodeMailGrain
{
    private string Node => this.GetPrimaryKeyString();

    public async Task<IReadOnlyList<DeliveryResult>> DeliverAsync(IReadOnlyList<MailItem> batch)
    {
        var requests = batch.Select(ToProto).ToArray();
        var replies = await agents.For(Node).DeliverAsync(requests, CancellationToken.None);
        var results = new DeliveryResult[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            var (reply, error) = replies[i];
            results[i] = reply is not null
                ? new DeliveryResult
                {
                    Delivered = (int)reply.Delivered,
                    Failures = reply.Failures.Select(f => new DeliveryFailure(f.Target, f.Error?.Code ?? ErrorCodes.InternalError, f.Error?.Message ?? string.Empty)).ToArray(),
                }
                : DeliveryResult.FailedAll(batch[i], string.IsNullOrEmpty(error?.Code) ? ErrorCodes.InternalError : error.Code, error?.Message ?? $"hostd on node {Node} did not deliver");
        }

        return results;
    }

    public async Task<MailboxStats> GetStatsAsync()
    {
        var r = await agents.For(Node).GetMailboxStatsAsync(CancellationToken.None);
        return new MailboxStats
        {
            Mailboxes = r.Mailboxes,
            QueuedMessages = r.QueuedMessages,
            QueuedBytes = r.QueuedBytes,
            DeliveredTotal = r.DeliveredTotal,
            DroppedTotal = r.DroppedTotal,
            RefusedFullTotal = r.RefusedFullTotal,
        };
    }

    private static DeliverRequest ToProto(MailItem item)
    {
        var request = new DeliverRequest
        {
            Tenant = item.Tenant,
            Message = new Message
            {
                From = item.From,
                To = item.To,
                Tag = item.Tag,
                Data = UnsafeByteOperations.UnsafeWrap(item.Data),
                SentUnixMs = item.SentUnixMs,
            },
            Broadcast = item.Broadcast,
            Create = item.Create,
            WaitMs = item.WaitMs,
        };
        request.Targets.AddRange(item.Targets);
        return request;
    }
}
