namespace Nefele.Testing;

/// <summary>Polls a condition that has no event to wait on, bounded by a deadline.</summary>
public static class Eventually
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(50);

    public static async Task Until(Func<bool> condition, TimeSpan timeout, string what)
    {
        await Until(() => Task.FromResult(condition()), timeout, what);
    }

    public static async Task Until(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"not within {timeout}: {what}");
            }

            await Task.Delay(Poll);
        }
    }

    /// <summary>Polls until <paramref name="probe"/> returns a value, and returns it.</summary>
    public static async Task<T> Value<T>(Func<Task<T?>> probe, TimeSpan timeout, string what)
        where T : class
    {
        T? value = null;
        await Until(async () => (value = await probe()) is not null, timeout, what);
        return value!;
    }

    /// <summary>
    /// Runs <paramref name="call"/>, again while it fails as the cluster does while a killed node is
    /// not yet declared dead (<see cref="Nefele.Errors.Transient"/>: its silo refuses connections),
    /// bounded by <paramref name="timeout"/>; any other failure, or the last one, is thrown.
    /// </summary>
    public static async Task<T> AcrossFailover<T>(Func<Task<T>> call, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                return await call();
            }
            catch (Exception e) when (Nefele.Errors.Transient.Is(e) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(Poll);
            }
        }
    }

    /// <inheritdoc cref="AcrossFailover{T}(Func{Task{T}}, TimeSpan)"/>
    public static Task AcrossFailover(Func<Task> call, TimeSpan timeout) =>
        AcrossFailover(async () =>
        {
            await call();
            return true;
        }, timeout);
}
