namespace Nefele.Client;

/// <summary>
/// Fires when one of the connection's gateways is lost (its link closed: the gateway's node was
/// killed, or it stopped). A call in flight on that link gets no answer, and Orleans would only
/// give up on it after its response timeout; the SDK's long polls (a monitor's watch, a followed
/// log read) are idempotent, so they are asked again at once through the gateways left instead.
/// </summary>
internal sealed class GatewayLoss
{
    private CancellationTokenSource _current = new();

    /// <summary>Cancelled at the next gateway loss; take it before the call it guards.</summary>
    public CancellationToken Token => Volatile.Read(ref _current).Token;

    public void OnGatewayCountChanged(object? sender, GatewayCountChangedEventArgs e)
    {
        if (e.NumberOfConnectedGateways >= e.PreviousNumberOfConnectedGateways)
        {
            return;
        }

        // Not disposed: a caller may be reading its token right now. Callbacks run on the thread
        // pool, not on Orleans' networking thread that reports the loss.
        var lost = Interlocked.Exchange(ref _current, new CancellationTokenSource());
        _ = lost.CancelAsync();
    }
}
