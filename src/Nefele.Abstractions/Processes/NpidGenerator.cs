using Nefele.Client;

namespace Nefele.Processes;

/// <summary>
/// Makes NPIDs for one admission point. Thread-safe. Monotonic within a generator even if
/// the wall clock steps back while it runs (it keeps counting from the last time it used).
/// </summary>
public sealed class NpidGenerator
{
    private static readonly DateTimeOffset Epoch = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly int _generator;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private long _lastMs;
    private int _sequence;

    public NpidGenerator(int generator, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(generator);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(generator, Messaging.MailboxAddress.GeneratorId);
        _generator = generator;
        _time = time;
    }

    public string Next()
    {
        lock (_lock)
        {
            var now = (long)(_time.GetUtcNow() - Epoch).TotalMilliseconds;
            if (now > _lastMs)
            {
                _lastMs = now;
                _sequence = 0;
            }
            else if (++_sequence > 0xfff)
            {
                // 4096 ids in one millisecond: borrow the next millisecond rather than wait.
                _lastMs++;
                _sequence = 0;
            }

            return Npid.Encode(Npid.Compose(_lastMs, _generator, _sequence));
        }
    }
}
