using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nefele.Client;
using Nefele.Errors;
using Nefele.Nodes;
using Nefele.Validation;
using Orleans.Concurrency;
using Orleans.GrainDirectory;
using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace Nefele.Messaging;

/// <summary>
/// An external mailbox, in memory on the silo that opened it (the SDK program's gateway, the REST
/// call's node), so receiving costs no extra hop: bounded as a process mailbox
/// (<see cref="Limits.DefaultMailboxMessages"/>, <see cref="Limits.DefaultMailboxBytes"/>), FIFO
/// with selective receive by tag, long-poll receives, per-sender sequence numbers. It lives while
/// it is used: after <see cref="MessagingOptions.MailboxIdleTimeout"/> without an open or a
/// receive it is dropped, and what was queued is counted as dropped.
/// Its registration is kept by <see cref="SurvivingDirectory"/>, so another node's death does not
/// deactivate it (the default directory did, which emptied mailboxes when any node died). So a mailbox, and
/// what it accepted, is lost only with its own silo; it then opens again, empty, under the same
/// address (the SDK does so by itself, REST on the caller's next call).
/// An open that names the opener's silo (<see cref="IPlacementDirector.PlacementHintKey"/>, as
/// <see cref="MessagingGrain"/> does for the SDK) places a new mailbox there, and moves one that
/// lives elsewhere there with what it holds (Orleans' activation migration): so after a gateway's
/// death the SDK's mailbox comes back to the gateway the program now reaches, even when a send
/// reached its address first.
/// </summary>
[Reentrant, PreferLocalPlacement, GrainDirectory(SurvivingDirectory.Name)]
public sealed class MailboxGrain(
    IOptions<MessagingOptions> options,
    IOptions<NodeOptions> node,
    IMessagingNameSource names,
    TimeProvider time,
    ILogger<MailboxGrain> logger) : Grain, IMailboxGrain, IGrainMigrationParticipant
{
    private readonly LinkedList<NefeleMessage> _queue = new();
    private readonly Dictionary<string, ulong> _seq = new(StringComparer.Ordinal);
    private TaskCompletionSource _changed = NewSignal();
    private string? _tenant;
    private long _bytes;
    private long _lastUse;
    private bool _closed;
    private bool _moving;

    private string Address => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var idle = options.Value.MailboxIdleTimeout;
        var every = idle / 4;
        this.RegisterGrainTimer(CheckIdleAsync, new GrainTimerCreationOptions(every, every) { Interleave = true, KeepAlive = true });
        return Task.CompletedTask;
    }

    public Task<MailboxInfo> OpenAsync(string tenant)
    {
        // A mailbox dropped for idleness opens again empty (a REST key's address is stable).
        if ((_tenant is null || (_closed && _tenant == tenant)) && MailboxAddress.IsExternal(Address))
        {
            _tenant = tenant;
            _closed = false;
            _seq.Clear();
        }

        Own(tenant);
        Touch();
        MoveToOpener();
        return Task.FromResult(new MailboxInfo(Address, _queue.Count, node.Value.Name));
    }

    public void OnDehydrate(IDehydrationContext dehydrationContext)
    {
        dehydrationContext.TryAddValue("tenant", _tenant);
        dehydrationContext.TryAddValue("closed", _closed);
        dehydrationContext.TryAddValue("queue", _queue.ToList());
        dehydrationContext.TryAddValue("seq", new Dictionary<string, ulong>(_seq, StringComparer.Ordinal));
    }

    public void OnRehydrate(IRehydrationContext rehydrationContext)
    {
        if (rehydrationContext.TryGetValue("tenant", out string? tenant))
        {
            _tenant = tenant;
        }

        _closed = rehydrationContext.TryGetValue("closed", out bool closed) && closed;
        if (rehydrationContext.TryGetValue("queue", out List<NefeleMessage>? queue))
        {
            foreach (var m in queue)
            {
                _queue.AddLast(m);
                _bytes += m.Data.Length;
            }
        }

        if (rehydrationContext.TryGetValue("seq", out Dictionary<string, ulong>? seq))
        {
            foreach (var (from, n) in seq)
            {
                _seq[from] = n;
            }
        }

        // The old silo's timestamps mean nothing here: the move counts as a use.
        Touch();
    }

    public async Task<ReceivedMessage?> ReceiveAsync(string tenant, TimeSpan timeout, string? tag, CancellationToken ct)
    {
        Own(tenant);
        Touch();
        if (timeout > Limits.MaxMessagingWait)
        {
            timeout = Limits.MaxMessagingWait;
        }

        var deadline = time.GetTimestamp() + (long)(Math.Max(0, timeout.TotalSeconds) * time.TimestampFrequency);
        while (true)
        {
            for (var node = _queue.First; node is not null; node = node.Next)
            {
                if (string.IsNullOrEmpty(tag) || node.Value.Tag == tag)
                {
                    _queue.Remove(node);
                    _bytes -= node.Value.Data.Length;
                    Signal();
                    Touch();
                    return new ReceivedMessage(node.Value, _queue.Count);
                }
            }

            var left = time.GetElapsedTime(time.GetTimestamp(), deadline);
            if (left <= TimeSpan.Zero || ct.IsCancellationRequested || _closed || _moving)
            {
                // Moving: a receive waiting here would hold the move up; the caller asks again, there.
                return null;
            }

            await Task.WhenAny(_changed.Task, Task.Delay(left, time, ct));
        }
    }

    public Task CloseAsync(string tenant)
    {
        if (_tenant is null || _closed)
        {
            return Task.CompletedTask;
        }

        Own(tenant);
        return DropAsync("mailbox_closed");
    }

    public Task<bool> IsOpenAsync(string tenant)
    {
        if (_tenant is null)
        {
            // Activated by this question: no such mailbox (never opened, or lost with its silo).
            DeactivateOnIdle();
        }

        return Task.FromResult(_tenant == tenant && !_closed);
    }

    public async Task<IReadOnlyList<DeliveryResult>> DeliverAsync(IReadOnlyList<MailItem> batch)
    {
        if (_tenant is null)
        {
            // Activated by a send to a mailbox lost with its silo (or never opened): it goes at
            // once, so that its owner's next open places the mailbox on the owner's silo again.
            DeactivateOnIdle();
        }

        var results = new DeliveryResult[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            var item = batch[i];
            if (_tenant is null || _closed || item.Tenant != _tenant)
            {
                results[i] = DeliveryResult.FailedAll(item, ErrorCodes.NpidNotFound, $"no mailbox {Address} in this tenant");
                continue;
            }

            // A full mailbox is waited on up to the sender's wait, never dropped silently.
            var deadline = time.GetTimestamp() + (long)(Math.Min(item.WaitMs, Limits.MaxMessagingWait.TotalMilliseconds) / 1000.0 * time.TimestampFrequency);
            while (!_closed && (_queue.Count >= Limits.DefaultMailboxMessages || (_queue.Count > 0 && _bytes + item.Data.Length > Limits.DefaultMailboxBytes)))
            {
                var left = time.GetElapsedTime(time.GetTimestamp(), deadline);
                if (left <= TimeSpan.Zero)
                {
                    break;
                }

                await Task.WhenAny(_changed.Task, Task.Delay(left, time));
            }

            if (_closed)
            {
                results[i] = DeliveryResult.FailedAll(item, ErrorCodes.NpidNotFound, $"mailbox {Address} was dropped");
            }
            else if (_queue.Count >= Limits.DefaultMailboxMessages || (_queue.Count > 0 && _bytes + item.Data.Length > Limits.DefaultMailboxBytes))
            {
                results[i] = DeliveryResult.FailedAll(item, ErrorCodes.MailboxFull,
                    $"mailbox {Address} is full ({_queue.Count} messages, {_bytes} bytes; at most {Limits.DefaultMailboxMessages} messages and {Limits.DefaultMailboxBytes} bytes)");
            }
            else
            {
                var seq = _seq[item.From] = _seq.GetValueOrDefault(item.From) + 1;
                _queue.AddLast(item.ToMessage(seq));
                _bytes += item.Data.Length;
                results[i] = new DeliveryResult { Delivered = 1 };
            }
        }

        Signal();
        return results;
    }

    /// <summary>A call naming another tenant (or a mailbox never opened) sees no mailbox at all.</summary>
    private void Own(string tenant)
    {
        if (_tenant is null || _closed || _tenant != tenant)
        {
            if (_tenant is null)
            {
                DeactivateOnIdle();
            }

            throw new NefeleException(ErrorCodes.NpidNotFound, $"no mailbox {Address} in this tenant");
        }
    }

    private void Touch() => _lastUse = time.GetTimestamp();

    /// <summary>
    /// Moves the mailbox, with what it holds, to the opener's silo when the open named one and it
    /// is another (see the class's summary). The move waits for the calls running here; waiting
    /// receives return at once, and calls arriving meanwhile follow the mailbox.
    /// </summary>
    private void MoveToOpener()
    {
        if (_moving || _closed || RequestContext.Get(IPlacementDirector.PlacementHintKey) is not SiloAddress opener || opener.Equals(GrainContext.Address.SiloAddress))
        {
            return;
        }

        logger.LogDebug("Mailbox {Address} of {Tenant} moves from {From} to its opener's silo {To} with {Count} messages", Address, _tenant, GrainContext.Address.SiloAddress, opener, _queue.Count);
        _moving = true;
        Signal();
        this.MigrateOnIdle();
    }

    private async Task CheckIdleAsync(CancellationToken ct)
    {
        if (_tenant is null)
        {
            DeactivateOnIdle();
            return;
        }

        if (!_closed && time.GetElapsedTime(_lastUse) >= options.Value.MailboxIdleTimeout)
        {
            await DropAsync("mailbox_idle");
        }
    }

    private async Task DropAsync(string reason)
    {
        _closed = true;
        var dropped = _queue.Count;
        if (dropped > 0)
        {
            MessagingTelemetry.Dropped.Add(dropped, new KeyValuePair<string, object?>(Observability.Instruments.Attributes.Reason, reason));
            logger.LogDebug("Mailbox {Address} of {Tenant} dropped with {Count} messages queued ({Reason})", Address, _tenant, dropped, reason);
        }

        _queue.Clear();
        _bytes = 0;
        Signal();
        try
        {
            await names.MailboxDroppedAsync(_tenant!, Address, CancellationToken.None);
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "The name service did not hear that mailbox {Address} was dropped", Address);
        }

        DeactivateOnIdle();
    }

    private void Signal()
    {
        var changed = _changed;
        _changed = NewSignal();
        changed.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
