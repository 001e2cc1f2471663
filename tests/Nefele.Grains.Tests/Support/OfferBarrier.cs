using Nefele.Nodes;

namespace Nefele.Grains.Tests.Support;

/// <summary>
/// Holds each admission back after its node offer (or, with one candidate node, its offer and
/// reservation in one call) until a set number of offers have been
/// answered, so concurrent requests all see the same free capacity before any reserves —
/// the race that otherwise happens only sometimes. Runs in the caller (an outgoing filter),
/// so the node grain itself is never blocked.
/// </summary>
public sealed class OfferBarrier : IOutgoingGrainCallFilter
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private readonly Lock _lock = new();
    private int _waiting;
    private TaskCompletionSource? _released;

    /// <summary>From now on, offers wait until <paramref name="parties"/> of them have been answered.</summary>
    public void Arm(int parties)
    {
        lock (_lock)
        {
            _waiting = parties;
            _released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    public async Task Invoke(IOutgoingGrainCallContext context)
    {
        await context.Invoke();
        if (context.InterfaceMethod?.DeclaringType != typeof(INodeGrain)
            || context.MethodName is not (nameof(INodeGrain.OfferAsync) or nameof(INodeGrain.OfferAndReserveAsync)))
        {
            return;
        }

        Task wait;
        lock (_lock)
        {
            if (_released is null)
            {
                return;
            }

            wait = _released.Task;
            if (--_waiting == 0)
            {
                _released.TrySetResult();
                _released = null;
            }
        }

        await wait.WaitAsync(Bound);
    }
}
