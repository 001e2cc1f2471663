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
}
