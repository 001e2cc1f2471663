using System.Runtime.CompilerServices;
using Nefele.Errors;
using Nefele.Messaging;
using Nefele.Validation;

namespace Nefele.Client;

/// <summary>
/// A mailbox of the program's own (<see cref="NefeleTenant.OpenMailboxAsync"/>): processes send to
/// its <see cref="Address"/>, the program receives in order (or selectively by tag). While it is
/// open it is kept: when the node holding it dies, it opens again under the same address through
/// another gateway, with no call from the program. Disposing it drops it, with whatever is still
/// queued.
/// </summary>
public sealed class NefeleMailbox : IAsyncDisposable
{
    /// <summary>
    /// How often an open mailbox is opened again when nothing else happens: keeps it from idling
    /// out on the silo while the program lives (the shortest idle timeout a silo takes is 15 s),
    /// and finds it lost however that came about. A gateway loss opens it again at once.
    /// </summary>
    internal static readonly TimeSpan KeepInterval = TimeSpan.FromSeconds(10);

    private readonly NefeleTenant _tenant;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _keeper;
    private int _disposed;

    internal NefeleMailbox(NefeleTenant tenant, MailboxInfo info)
    {
        _tenant = tenant;
        Address = info.Address;
        Node = info.Node;
        _keeper = Task.Run(() => KeepAsync(_stop.Token));
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

    /// <summary>
    /// Registers this mailbox under <paramref name="name"/> (a name or "#id"), so processes can send
    /// to it by name; the registration ends when the mailbox is dropped. As <see cref="NefeleTenant.RegisterAsync"/>.
    /// </summary>
    /// <param name="name">The name or service id.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>The name's holders after the registration, in registration order.</returns>
    public Task<IReadOnlyList<string>> RegisterAsync(string name, CancellationToken ct = default) =>
        _tenant.RegisterAsync(name, Address, ct);

    /// <summary>Drops the mailbox and what is queued in it. Calling it again does nothing.</summary>
    /// <returns>When it is dropped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _stop.CancelAsync();
            await _keeper.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _stop.Dispose();
            await _tenant.CloseMailboxAsync(Address, CancellationToken.None);
        }
    }

    /// <summary>The node whose silo held the mailbox when it was last opened (by the program or by its keeper).</summary>
    internal string Node { get; private set; }

    /// <summary>Opens the mailbox again now (as its keeper does) and answers where it is and what waits in it.</summary>
    internal async Task<MailboxInfo> KeepNowAsync(CancellationToken ct)
    {
        var info = await _tenant.ReopenMailboxAsync(Address, ct);
        Node = info.Node;
        return info;
    }

    /// <summary>
    /// Opens the mailbox again after every gateway loss (at once: its silo may be the lost one) and
    /// every <see cref="KeepInterval"/>, until disposed. A try that meets a silo still going is
    /// made again shortly.
    /// </summary>
    private async Task KeepAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            using (var wake = CancellationTokenSource.CreateLinkedTokenSource(stop, _tenant.GatewayLost))
            {
                await Task.Delay(KeepInterval, wake.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            while (!stop.IsCancellationRequested)
            {
                var lost = _tenant.GatewayLost;
                try
                {
                    using var call = CancellationTokenSource.CreateLinkedTokenSource(stop, lost);
                    await KeepNowAsync(call.Token);
                    break;
                }
                catch (OperationCanceledException) when (!stop.IsCancellationRequested)
                {
                    // Another gateway was lost while asking: asked again through the others.
                }
                catch (Exception e) when (Transient.Is(e))
                {
                    await Task.Delay(NefeleTenant.MailboxRetryDelay, stop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }
                catch (Exception) when (!stop.IsCancellationRequested)
                {
                    // Not a silo going (another tenant's address, a refusal): tried again at the
                    // next interval; the program's own receives report it meanwhile.
                    break;
                }
            }
        }
    }
}
