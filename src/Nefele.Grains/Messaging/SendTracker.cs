using Nefele.Client;

namespace Nefele.Messaging;

/// <summary>
/// The outcome of one send split into parts (one per target, node or mailbox): completes when
/// every part is routed (unacked) or delivered (acked). Thread-safe.
/// </summary>
internal sealed class SendTracker(bool ack)
{
    private readonly TaskCompletionSource<int> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _lock = new();
    private int _pending = 1; // held by the dispatcher until every part is added
    private int _count;
    private DeliveryFailure? _failure;

    public bool Ack => ack;

    public Task<int> Done => _done.Task;

    public void Add()
    {
        lock (_lock)
        {
            _pending++;
        }
    }

    /// <summary>A part reached its lane (counts for an unacked send).</summary>
    public void Routed(int targets)
    {
        if (!ack)
        {
            Finish(targets, null);
        }
    }

    /// <summary>A part could not be routed (no such process, ended): fails it, acked or not.</summary>
    public void NotRouted(DeliveryFailure failure) => Finish(0, failure);

    /// <summary>A part's delivery came back (counts for an acked send).</summary>
    public void Delivered(DeliveryResult result)
    {
        if (ack)
        {
            Finish(result.Delivered, result.Failures.Count > 0 ? result.Failures[0] : null);
        }
    }

    /// <summary>The dispatcher added every part.</summary>
    public void Sealed() => Finish(0, null);

    private void Finish(int count, DeliveryFailure? failure)
    {
        int pending;
        lock (_lock)
        {
            _count += count;
            _failure ??= failure;
            pending = --_pending;
        }

        if (pending > 0)
        {
            return;
        }

        // Acked: every target must have it. Unacked: a failure matters only when nothing was routed.
        if (_failure is { } f && (ack || _count == 0))
        {
            _done.TrySetException(new NefeleException(f.Code, f.Message));
        }
        else
        {
            _done.TrySetResult(_count);
        }
    }
}
