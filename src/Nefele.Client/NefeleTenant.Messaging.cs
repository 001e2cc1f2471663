using Nefele.Errors;
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
    /// to. It is bounded as a process's mailbox (10,000 messages, 64 MiB) and lives in memory on
    /// the node of the gateway it was opened through, until it is disposed (or, once the program
    /// is gone, after 5 minutes without use, Messaging:MailboxIdleTimeout). What it holds outlives
    /// the death of any other node; when its own node dies, the mailbox opens again by itself,
    /// empty, under the same address through another gateway (what was queued there, and what was
    /// sent to it until then, is lost).
    /// </summary>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>The mailbox.</returns>
    public async Task<NefeleMailbox> OpenMailboxAsync(CancellationToken ct = default)
    {
        var info = await _grains.GetGrain<IMessagingGrain>(Name).OpenMailboxAsync().WaitAsync(ct);
        return new NefeleMailbox(this, info);
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
        catch (NefeleException e) when (e.Code == ErrorCodes.NpidNotFound)
        {
            // The mailbox went with its silo (or idled out): it opens again under its address, and
            // the caller asks again. Another tenant's address stays npid_not_found (from the open).
            await ReopenMailboxAsync(address, ct);
            return null;
        }
        catch (Exception e) when (Transient.Is(e))
        {
            // The mailbox's silo is going and not yet declared dead: asked again shortly.
            await Task.Delay(MailboxRetryDelay, ct);
            return null;
        }
    }

    /// <summary>
    /// Opens <paramref name="address"/> again through a gateway: the mailbox as it is, or anew and
    /// empty (on the gateway's silo) when it was lost with its silo.
    /// </summary>
    internal Task<MailboxInfo> ReopenMailboxAsync(string address, CancellationToken ct) =>
        _grains.GetGrain<IMessagingGrain>(Name).ReopenMailboxAsync(address).WaitAsync(ct);

    /// <summary>Cancelled at the connection's next gateway loss (never when it has one gateway list it cannot lose).</summary>
    internal CancellationToken GatewayLost => _gatewayLoss?.Token ?? CancellationToken.None;

    internal Task CloseMailboxAsync(string address, CancellationToken ct) =>
        _grains.GetGrain<IMailboxGrain>(address).CloseAsync(Name).WaitAsync(ct);

    /// <summary>Between tries at a mailbox whose silo is going: a node is declared dead within a few seconds.</summary>
    internal static readonly TimeSpan MailboxRetryDelay = TimeSpan.FromMilliseconds(200);
}
