using Nefele.Validation;

namespace Nefele.Grains.Tests.Unit;

/// <summary>The shared quantity grammar: Ki Mi Gi Ti are powers of 2, K M G T powers of 10.</summary>
public class UnitsTests
{
    [Theory]
    [InlineData("1", 1)]
    [InlineData("1Ki", 1024)]
    [InlineData("1Mi", 1048576)]
    [InlineData("1Gi", 1073741824)]
    [InlineData("1Ti", 1099511627776)]
    [InlineData("1k", 1000)]
    [InlineData("1K", 1000)]
    [InlineData("1M", 1000000)]
    [InlineData("1G", 1000000000)]
    [InlineData("1T", 1000000000000)]
    [InlineData("512M", 512000000)]
    [InlineData("512Mi", 536870912)]
    [InlineData("0.5Gi", 536870912)]
    [InlineData("1.5K", 1500)]
    public void Sizes(string text, long bytes) => Assert.Equal(bytes, Units.ParseBytes(text));

    [Theory]
    [InlineData("1MB")]
    [InlineData("1MiB")]
    [InlineData("1m")] // milli-bytes are not a size
    [InlineData("1 Mi")]
    [InlineData("1e6")]
    [InlineData("+1")]
    [InlineData("-1")]
    [InlineData("")]
    [InlineData("Mi")]
    [InlineData("1.5")]
    [InlineData("0.1Ki")]
    [InlineData("9999999T")]
    public void Not_sizes(string text) => Assert.Throws<FormatException>(() => Units.ParseBytes(text));

    [Theory]
    [InlineData("250m", 250)]
    [InlineData("1", 1000)]
    [InlineData("1.5", 1500)]
    [InlineData("0.001", 1)]
    [InlineData("0", 0)]
    public void Cpu(string text, long millis) => Assert.Equal(millis, Units.ParseCpu(text));

    [Theory]
    [InlineData("0.0001")]
    [InlineData("1.5m")]
    [InlineData("-1")]
    [InlineData("1c")]
    [InlineData("")]
    public void Not_cpu(string text) => Assert.Throws<FormatException>(() => Units.ParseCpu(text));

    [Theory]
    [InlineData(0, "-")]
    [InlineData(1023, "1023")]
    [InlineData(1024, "1Ki")]
    [InlineData(536870912, "512Mi")]
    [InlineData(512000000, "488.3Mi")]
    public void Sizes_are_shown_in_powers_of_two(long bytes, string text) => Assert.Equal(text, Units.FormatBytes(bytes));

    [Fact]
    public void What_is_shown_parses_back_to_the_same_size()
    {
        foreach (var bytes in new long[] { 1, 4096, 64L << 20, 3L << 30 })
        {
            Assert.Equal(bytes, Units.ParseBytes(Units.FormatBytes(bytes)));
        }
    }
}
