using Nefele.Messaging;

namespace Nefele.Client;

/// <content>Messaging from outside the cluster: sends, and mailboxes of the program's own.</content>
public sealed partial class NefeleTenant
{
    /// <summary>
    /// Sends <paramref name="data"/> to <paramref name="to"/> (an NPID, a mailbox address, a name,
    /// "#id", or a topic with <see cref="DeliveryMode.Publish"/>) without a reply address; use
    /// <see cref="NefeleMailbox.SendAsync"/> to be answered. Messages from one sender to one
    /// receiver arrive in order; delivery is at-most-once unless <see cref="SendOptions.Ack"/> is set.
    /// Throws <see cref="NefeleException"/>: <see cref="ErrorCodes.BadRequest"/> or
    /// <see cref="ErrorCodes.MessageTooLarge"/> for bad input, <see cref="ErrorCodes.NameNotFound"/>,
    /// <see cref="ErrorCodes.NpidNotFound"/>, <see cref="ErrorCodes.NotRunning"/>, and with ack
    /// <see cref="ErrorCodes.MailboxFull"/> or <see cref="ErrorCodes.NodeUnavailable"/>.
    /// </summary>
    /// <param name="to">The destination.</param>
    /// <param name="data">At most 1 MiB.</param>
    /// <param name="options">Tag, pattern, ack and wait; null for the defaults.</param>
    /// <param name="ct">Cancels waiting for the outcome (the message may still be delivered).</param>
    /// <returns>How many mailboxes the message was put in (ack) or routed to.</returns>
    public Task<int> SendAsync(string to, ReadOnlyMemory<byte> data, SendOptions? options = null, CancellationToken ct = default) =>
        SendFromAsync(string.Empty, to, data, options, ct);

    /// <summary>
    /// Opens a new mailbox for this program, with an address of its own that processes can answer
    /// to. It is bounded as a process's mailbox (10,000 messages, 64 MiB), lives in memory on one
    /// node, and is dropped when disposed, when that node fails, or after 5 minutes without a
    /// receive (Messaging:MailboxIdleTimeout).
    /// </summary>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>The mailbox.</returns>
    public async Task<NefeleMailbox> OpenMailboxAsync(CancellationToken ct = default)
    {
        var info = await _grains.GetGrain<IMessagingGrain>(Name).OpenMailboxAsync().WaitAsync(ct);
        return new NefeleMailbox(this, info.Address);
    }

    internal Task<int> SendFromAsync(string from, string to, ReadOnlyMemory<byte> data, SendOptions? options, CancellationToken ct)
    {
        var send = new SendCommand
        {
            From = from,
            To = to,
            Tag = options?.Tag ?? string.Empty,
            Data = data,
            Mode = options?.Mode ?? DeliveryMode.Default,
            Ack = options?.Ack ?? false,
            Wait = options?.Wait ?? TimeSpan.Zero,
        };
        send.Validate();
        return _grains.GetGrain<IMessagingGrain>(Name).SendAsync(send, ct);
    }

    internal async Task<ReceivedMessage?> ReceiveOnceAsync(string address, TimeSpan timeout, string? tag, CancellationToken ct)
    {
        using var call = GatewayGuard(ct);
        try
        {
            return await _grains.GetGrain<IMailboxGrain>(address).ReceiveAsync(Name, timeout, tag, call.Token).WaitAsync(call.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // A gateway was lost: the receive may have been on it. The caller asks again.
            return null;
        }
    }

    internal Task CloseMailboxAsync(string address, CancellationToken ct) =>
        _grains.GetGrain<IMailboxGrain>(address).CloseAsync(Name).WaitAsync(ct);
}
