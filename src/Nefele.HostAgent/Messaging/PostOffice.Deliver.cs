using Nefele.HostAgent.Control;
using Nefele.Protocol.V1;
using Nefele.Validation;
using ErrorCodes = Nefele.Client.ErrorCodes;

namespace Nefele.HostAgent.Messaging;

public sealed partial class PostOffice
{
    /// <summary>
    /// Puts a message the silo brings (from another node, the SDK or REST) in mailboxes of this
    /// node, in the order deliveries arrive, and queues the DeliverReply under <paramref name="id"/>
    /// on <paramref name="connection"/> once every target is settled.
    /// </summary>
    internal void Deliver(DeliverRequest request, ulong id, IControlConnection connection)
    {
        if (CheckDeliver(request) is { } bad)
        {
            connection.Enqueue(new ControlEvent { Id = id, Error = new Error { Code = ErrorCodes.BadRequest, Message = bad } });
            return;
        }

        var envelope = Envelope.Of(request.Message);
        var waitMs = Math.Min(request.WaitMs, MaxWaitMs);
        var operation = new DeliverOperation(connection, id, envelope, waitMs);
        if (request.Broadcast)
        {
            foreach (var mailbox in mailboxes.Values)
            {
                if (mailbox.State == MailboxState.Open && string.Equals(mailbox.Tenant, request.Tenant, StringComparison.Ordinal)
                    && !string.Equals(mailbox.Owner, envelope.From, StringComparison.Ordinal))
                {
                    operation.Offer(mailbox);
                }
            }
        }
        else
        {
            foreach (var target in request.Targets)
            {
                var mailbox = Find(target, request.Tenant);
                if (mailbox is null && request.Create && !mailboxes.ContainsKey(target))
                {
                    mailbox = OpenPending(target, request.Tenant);
                    mailbox = mailbox is not null && string.Equals(mailbox.Tenant, request.Tenant, StringComparison.Ordinal) ? mailbox : null;
                }

                if (mailbox is not null)
                {
                    operation.Offer(mailbox);
                }
                else if (KnownEnded(target, request.Tenant))
                {
                    operation.Miss(target, ErrorCodes.NotRunning, $"{target} has ended: its mailbox ended with it");
                }
                else
                {
                    operation.Miss(target, ErrorCodes.NpidNotFound, $"no mailbox {target} of tenant {request.Tenant} on node {Node}");
                }
            }
        }

        operation.Release();
    }

    private static string? CheckDeliver(DeliverRequest request)
    {
        if (!Names.IsTenantName(request.Tenant))
        {
            return $"delivery refused: tenant '{Names.Shorten(request.Tenant)}' is not a tenant name";
        }

        if (request.Message is not { } message)
        {
            return "delivery refused: it has no message";
        }

        if (message.Data.Length > Limits.MaxMessageBytes)
        {
            return $"delivery refused: a message of {message.Data.Length} bytes is larger than the maximum, {Limits.MaxMessageBytes} bytes";
        }

        if (!Names.IsMessageTag(message.Tag))
        {
            return $"delivery refused: message tag '{Names.Shorten(message.Tag)}' is invalid";
        }

        if (request.WaitMs < 0)
        {
            return $"delivery refused: wait_ms {request.WaitMs} must not be negative";
        }

        return null;
    }

    /// <summary>One delivery in progress: the DeliverReply is queued once every target is settled.</summary>
    private sealed class DeliverOperation(IControlConnection connection, ulong id, Envelope envelope, int waitMs) : IPutCallback
    {
        private readonly Lock gate = new();
        private readonly DeliverReply reply = new();
        private int pending = 1;

        public void Offer(Mailbox mailbox)
        {
            Interlocked.Increment(ref pending);
            var outcome = mailbox.Put(envelope, waitMs, this);
            if (outcome != PutOutcome.Waiting)
            {
                Settled(mailbox, outcome);
            }
        }

        public void Miss(string target, string code, string message)
        {
            lock (gate)
            {
                reply.Failures.Add(new DeliverFailure { Target = target, Error = new Error { Code = code, Message = message } });
            }
        }

        public void Settled(Mailbox mailbox, PutOutcome outcome)
        {
            switch (outcome)
            {
                case PutOutcome.Delivered:
                    lock (gate)
                    {
                        reply.Delivered++;
                    }

                    break;
                case PutOutcome.Full:
                    Miss(mailbox.Owner, ErrorCodes.MailboxFull, mailbox.DescribeFull(envelope.Size, waitMs));
                    break;
                default:
                    Miss(mailbox.Owner, ErrorCodes.NotRunning, $"{mailbox.Owner} has ended: its mailbox ended with it");
                    break;
            }

            Release();
        }

        public void Release()
        {
            if (Interlocked.Decrement(ref pending) == 0)
            {
                connection.Enqueue(new ControlEvent { Id = id, Delivered = reply });
            }
        }
    }
}
