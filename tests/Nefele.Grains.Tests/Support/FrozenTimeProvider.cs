namespace Nefele.Grains.Tests.Support;

/// <summary>A clock that stands still unless a test moves it, so many calls fall in one millisecond.</summary>
public sealed class FrozenTimeProvider(DateTimeOffset now) : TimeProvider
{
    private DateTimeOffset _now = now;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Set(DateTimeOffset now) => _now = now;
}
