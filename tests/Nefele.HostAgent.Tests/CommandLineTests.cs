namespace Nefele.HostAgent.Tests;

public sealed class CommandLineTests
{
    [Fact]
    public void Short_flags_map_to_settings_with_units()
    {
        var (settings, rest) = CommandLine.Parse(["--node", "n1", "--handshake-timeout", "250ms", "--log-limit=2Mi", "--stop-grace", "5s", "--HostAgent:CgroupRoot=x"]);
        Assert.Equal("n1", settings["HostAgent:Node"]);
        Assert.Equal(TimeSpan.FromMilliseconds(250), TimeSpan.Parse(settings["HostAgent:HandshakeTimeout"]!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("2097152", settings["HostAgent:LogLimitBytes"]);
        Assert.Equal(TimeSpan.FromSeconds(5), TimeSpan.Parse(settings["HostAgent:StopGrace"]!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(["--HostAgent:CgroupRoot=x"], rest);
    }

    [Theory]
    [InlineData("512M", "512000000")]
    [InlineData("512Mi", "536870912")]
    [InlineData("4096", "4096")]
    public void Log_limit_uses_the_shared_unit_grammar(string text, string bytes) =>
        Assert.Equal(bytes, CommandLine.Parse(["--log-limit", text]).Settings["HostAgent:LogLimitBytes"]);

    [Theory]
    [InlineData("2MiB")]
    [InlineData("2MB")]
    [InlineData("-1Mi")]
    public void Log_limit_outside_the_grammar_names_the_flag(string text)
    {
        var e = Assert.Throws<ArgumentException>(() => CommandLine.Parse(["--log-limit", text]));
        Assert.StartsWith($"--log-limit {text}: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_value_names_the_flag()
    {
        var e = Assert.Throws<ArgumentException>(() => CommandLine.Parse(["--stop-grace", "soon"]));
        Assert.Contains("--stop-grace", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => CommandLine.Parse(["--node"]));
    }

    [Fact]
    public void Validator_names_each_bad_setting()
    {
        var options = new HostAgentOptions
        {
            Node = "bad/name",
            RunDirectory = "/tmp/x",
            SpawnLibraryPath = "/nonexistent.so",
            HandshakeTimeout = TimeSpan.FromMilliseconds(1),
            LogLimitBytes = 10,
            LivenessPort = 70000,
            ImageCacheSweep = TimeSpan.FromMilliseconds(5),
        };
        var result = new HostAgentOptionsValidator().Validate(null, options);
        Assert.True(result.Failed);
        var failures = string.Join('\n', result.Failures!);
        Assert.Contains("HostAgent:Node (--node)", failures, StringComparison.Ordinal);
        Assert.Contains("HostAgent:SpawnLibraryPath (--spawn-lib)", failures, StringComparison.Ordinal);
        Assert.Contains("HostAgent:HandshakeTimeout (--handshake-timeout)", failures, StringComparison.Ordinal);
        Assert.Contains("HostAgent:LogLimitBytes (--log-limit)", failures, StringComparison.Ordinal);
        Assert.Contains("HostAgent:LivenessPort (--liveness-port) 70000", failures, StringComparison.Ordinal);
        Assert.Contains("HostAgent:ImageCacheSweep (--image-cache-sweep)", failures, StringComparison.Ordinal);
    }
}
