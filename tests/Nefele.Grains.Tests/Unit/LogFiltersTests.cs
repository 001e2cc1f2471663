using Nefele.Client;
using Nefele.Validation;

namespace Nefele.Grains.Tests.Unit;

/// <summary>The log filters' grammar every door shares: streams, and since/until as RFC 3339 times or durations ago.</summary>
public class LogFiltersTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 20, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("30s", 30)]
    [InlineData("5m", 300)]
    [InlineData("2h", 7200)]
    [InlineData("1.5h", 5400)]
    [InlineData("2d", 172800)]
    [InlineData("0s", 0)]
    public void A_duration_counts_back_from_now(string text, int secondsAgo) =>
        Assert.Equal(Now.AddSeconds(-secondsAgo), LogFilters.ParseTime(text, Now));

    [Theory]
    [InlineData("2026-12-05T19:30:00Z", "2026-12-05T19:30:00.0000000+00:00")]
    [InlineData("2026-12-05t19:30:00z", "2026-12-05T19:30:00.0000000+00:00")]
    [InlineData("2026-12-05T20:30:00+01:00", "2026-12-05T19:30:00.0000000+00:00")]
    [InlineData("2026-12-05T19:30:00.5Z", "2026-12-05T19:30:00.5000000+00:00")]
    // Nanoseconds are read; digits finer than .NET's 100 ns tick are dropped (a bound rounds down).
    [InlineData("2026-12-05T19:30:00.123456789Z", "2026-12-05T19:30:00.1234567+00:00")]
    public void An_rfc3339_time_is_that_instant(string text, string expected) =>
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), LogFilters.ParseTime(text, Now));

    [Theory]
    [InlineData("")]
    [InlineData("5")]
    [InlineData("5 m")]
    [InlineData("-5m")]
    [InlineData("5w")]
    [InlineData("5ms")]
    [InlineData("2026-12-05")]
    [InlineData("2026-12-05T19:30:00")] // no zone: ambiguous
    [InlineData("2026-12-05T19:30:00.1234567890Z")]
    [InlineData("2026-13-05T19:30:00Z")]
    [InlineData("yesterday")]
    public void Anything_else_is_refused_with_what_is_allowed(string text)
    {
        var e = Assert.Throws<FormatException>(() => LogFilters.ParseTime(text, Now));
        Assert.Contains("30s", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_duration_past_any_retention_is_refused() =>
        Assert.Contains("at most 400d", Assert.Throws<FormatException>(() => LogFilters.ParseTime("401d", Now)).Message, StringComparison.Ordinal);

    [Fact]
    public void A_record_time_prints_as_rfc3339_with_nanoseconds_and_reads_back()
    {
        // 2026-12-05T19:30:00Z is 1796499000 s after the epoch (date -ud @1796499000).
        const long time = 1_796_499_000_123_456_789;
        Assert.Equal("2026-12-05T19:30:00.123456789Z", LogFilters.FormatTime(time));
        Assert.Equal(time / 100 * 100, LogFilters.ToUnixNano(LogFilters.ParseTime(LogFilters.FormatTime(time), Now)));
        Assert.Equal("1970-01-01T00:00:00.000000000Z", LogFilters.FormatTime(0));
    }

    [Theory]
    [InlineData("stdout", LogStream.Stdout)]
    [InlineData("stderr", LogStream.Stderr)]
    [InlineData("", LogStream.All)]
    public void Streams_by_name(string text, LogStream stream) => Assert.Equal(stream, LogFilters.ParseStream(text));
}
