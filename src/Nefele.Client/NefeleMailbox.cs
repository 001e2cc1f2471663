using System.Runtime.CompilerServices;
using Nefele.Validation;

namespace Nefele.Client;

/// <summary>
/// A mailbox of the program's own (<see cref="NefeleTenant.OpenMailboxAsync"/>): processes send to
/// its <see cref="Address"/>, the program receives in order (or selectively by tag). Disposing it
/// drops it, with whatever is still queued.
/// </summary>
public sealed class NefeleMailbox : IAsyncDisposable
{
    private readonly NefeleTenant _tenant;
    private int _disposed;

    internal NefeleMailbox(NefeleTenant tenant, string address)
    {
        _tenant = tenant;
        Address = address;
    }

    /// <summary>The mailbox's address: NPID-shaped, usable wherever an NPID is a destination.</summary>
    public string Address { get; }

    /// <summary>
    /// Takes the oldest message (the oldest with <paramref name="tag"/>, when given; others stay
    /// queued in order), waiting up to <paramref name="timeout"/> for one. Nothing in time:
    /// <see cref="NefeleException"/> with <see cref="ErrorCodes.TimedOut"/>.
    /// </summary>
    /// <param name="timeout">How long to wait; zero answers at once.</param>
    /// <param name="tag">Only a message with this tag; null for any.</param>
    /// <param name="ct">Cancels the wait (<see cref="OperationCanceledException"/>).</param>
    /// <returns>The message.</returns>
    public async Task<NefeleMessage> ReceiveAsync(TimeSpan timeout, string? tag = null, CancellationToken ct = default)
    {
        if (timeout < TimeSpan.Zero)
        {
            throw NefeleException.Bad($"receive timeout {timeout} is negative");
        }

        if (tag is not null)
        {
            Names.ValidateMessageTag(tag);
        }

        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var left = deadline - DateTimeOffset.UtcNow;
            var wait = left <= TimeSpan.Zero ? TimeSpan.Zero : left < Limits.MaxMessagingWait ? left : Limits.MaxMessagingWait;
            if (await _tenant.ReceiveOnceAsync(Address, wait, tag, ct) is { } received)
            {
                return received.Message;
            }

            ct.ThrowIfCancellationRequested();
            if (deadline - DateTimeOffset.UtcNow <= TimeSpan.Zero)
            {
                throw new NefeleException(ErrorCodes.TimedOut, $"no message came to mailbox {Address} within {timeout.TotalSeconds:0.###} s");
            }
        }
    }

    /// <summary>Every message as it comes, in order, until <paramref name="ct"/> is cancelled.</summary>
    /// <param name="ct">Ends the stream (<see cref="OperationCanceledException"/>).</param>
    /// <returns>The messages.</returns>
    public async IAsyncEnumerable<NefeleMessage> ReadAllAsync([EnumeratorCancellation] CancellationToken ct = default)
    {
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            if (await _tenant.ReceiveOnceAsync(Address, Limits.MaxMessagingWait, null, ct) is { } received)
            {
                yield return received.Message;
            }
        }
    }

    /// <summary>Sends from this mailbox, so the receiver can answer to <see cref="Address"/>; otherwise as <see cref="NefeleTenant.SendAsync"/>.</summary>
    /// <param name="to">The destination.</param>
    /// <param name="data">At most 1 MiB.</param>
    /// <param name="options">Tag, pattern, ack and wait; null for the defaults.</param>
    /// <param name="ct">Cancels waiting for the outcome.</param>
    /// <returns>How many mailboxes the message was put in (ack) or routed to.</returns>
    public Task<int> SendAsync(string to, ReadOnlyMemory<byte> data, SendOptions? options = null, CancellationToken ct = default) =>
        _tenant.SendFromAsync(Address, to, data, options, ct);

    /// <summary>Drops the mailbox and what is queued in it. Calling it again does nothing.</summary>
    /// <returns>When it is dropped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _tenant.CloseMailboxAsync(Address, CancellationToken.None);
        }
    }
}
