using Nefele.Cli.Parsing;

namespace Nefele.Cli.Tests;

public sealed class UnitsTests
{
    [Theory]
    [InlineData("250m", 250)]
    [InlineData("1", 1000)]
    [InlineData("1.5", 1500)]
    [InlineData("0.25", 250)]
    [InlineData("0", 0)]
    [InlineData("2000m", 2000)]
    public void Cpu_accepts_millicores_and_cores(string text, long millis) =>
        Assert.Equal(millis, Units.ParseCpu(text, "--cpu"));

    [Theory]
    [InlineData("-1", "negative")]
    [InlineData("-250m", "negative")]
    [InlineData("abc", "not a CPU amount")]
    [InlineData("1.5m", "not a CPU amount")]
    [InlineData("1e3", "not a CPU amount")]
    [InlineData("", "not a CPU amount")]
    [InlineData("0.0005", "finer than one millicore")]
    public void Cpu_rejects_bad_amounts_naming_the_flag(string text, string why)
    {
        var e = Assert.Throws<UsageException>(() => Units.ParseCpu(text, "--cpu"));
        Assert.StartsWith("--cpu: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(why, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("64Mi", 64L * 1024 * 1024)]
    [InlineData("1Gi", 1024L * 1024 * 1024)]
    [InlineData("4Ki", 4096)]
    [InlineData("512M", 512_000_000)]
    [InlineData("1G", 1_000_000_000)]
    [InlineData("1048576", 1048576)]
    [InlineData("1.5Gi", 1610612736)]
    [InlineData("0", 0)]
    public void Memory_accepts_binary_and_decimal_suffixes(string text, long bytes) =>
        Assert.Equal(bytes, Units.ParseMemory(text, "--mem"));

    [Theory]
    [InlineData("-64Mi", "negative")]
    [InlineData("64MB", "not a memory amount")]
    [InlineData("Mi", "not a memory amount")]
    [InlineData("0.1Ki", "whole number of bytes")]
    [InlineData("99999999999999Ti", "too large")]
    public void Memory_rejects_bad_amounts_naming_the_flag(string text, string why)
    {
        var e = Assert.Throws<UsageException>(() => Units.ParseMemory(text, "--mem"));
        Assert.StartsWith("--mem: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(why, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, "-")]
    [InlineData(250, "250m")]
    [InlineData(1500, "1500m")]
    public void Cpu_is_shown_in_millicores(long millis, string shown) => Assert.Equal(shown, Units.FormatCpu(millis));

    [Theory]
    [InlineData(0, "-")]
    [InlineData(512, "512")]
    [InlineData(64L * 1024 * 1024, "64Mi")]
    [InlineData(1024L * 1024 * 1024, "1Gi")]
    [InlineData(512_000_000, "488.3Mi")]
    public void Memory_is_shown_in_binary_units(long bytes, string shown) => Assert.Equal(shown, Units.FormatMemory(bytes));
}
