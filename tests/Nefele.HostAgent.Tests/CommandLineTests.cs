using System.Globalization;

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

    [Theory]
    [InlineData("127.0.0.1:9464", "http://127.0.0.1:9464/")]
    [InlineData("10.81.0.11:9464", "http://10.81.0.11:9464/")]
    [InlineData("[::1]:9464", "http://[::1]:9464/")]
    public void Metrics_listen_takes_host_and_port(string listen, string prefix)
    {
        Assert.Equal(listen, CommandLine.Parse(["--metrics-listen", listen]).Settings["HostAgent:MetricsListen"]);
        Assert.Equal(prefix, HostAgentOptions.MetricsPrefix(listen));
    }

    [Theory]
    [InlineData("9464")]
    [InlineData("127.0.0.1")]
    [InlineData("http://127.0.0.1:9464/")]
    [InlineData("127.0.0.1:99999")]
    [InlineData("127.0.0.1:9464/metrics")]
    public void Metrics_listen_that_is_not_host_and_port_names_the_flag(string listen)
    {
        var e = Assert.Throws<ArgumentException>(() => CommandLine.Parse(["--metrics-listen", listen]));
        Assert.StartsWith($"--metrics-listen {listen}: ", e.Message, StringComparison.Ordinal);
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

    [Theory]
    [InlineData("4095", false)]
    [InlineData("4Ki", true)]
    [InlineData("1Gi", true)]
    [InlineData("1073741825", false)]
    public void Log_limit_per_process_is_checked_against_its_documented_range(string text, bool valid)
    {
        var options = ValidOptions();
        options.LogLimitBytes = long.Parse(CommandLine.Parse(["--log-limit", text]).Settings["HostAgent:LogLimitBytes"]!, CultureInfo.InvariantCulture);
        var result = new HostAgentOptionsValidator().Validate(null, options);
        Assert.Equal(valid, result.Succeeded);
        if (!valid)
        {
            var failure = Assert.Single(result.Failures!);
            Assert.Contains("HostAgent:LogLimitBytes (--log-limit)", failure, StringComparison.Ordinal);
            Assert.Contains("between 4Ki and 1Gi", failure, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Log_export_settings_map_from_their_flags_and_bad_ones_are_named()
    {
        var settings = CommandLine.Parse(["--log-export", "otlp", "--log-export-file", "/var/log/nefele/output.jsonl", "--log-export-queue", "100"]).Settings;
        Assert.Equal("otlp", settings["HostAgent:LogExport"]);
        Assert.Equal("/var/log/nefele/output.jsonl", settings["HostAgent:LogExportFile"]);
        Assert.Equal("100", settings["HostAgent:LogExportQueue"]);

        var options = ValidOptions();
        options.LogExport = "kafka";
        options.LogExportFile = "output.jsonl";
        options.LogExportQueue = 63;
        var result = new HostAgentOptionsValidator().Validate(null, options);
        var failures = string.Join('\n', result.Failures!);
        Assert.Contains("HostAgent:LogExport (--log-export) 'kafka' is not a known export; allowed: otlp, off", failures, StringComparison.Ordinal);
        Assert.Contains("HostAgent:LogExportFile (--log-export-file) 'output.jsonl' must be an absolute path", failures, StringComparison.Ordinal);
        Assert.Contains("HostAgent:LogExportQueue (--log-export-queue) 63 must be between 64 and 1000000", failures, StringComparison.Ordinal);
    }

    [Fact]
    public void Otlp_log_export_needs_a_logs_endpoint()
    {
        var options = ValidOptions();
        options.LogExport = "otlp";
        var result = new HostAgentOptionsValidator().Validate(null, options);

        // The variables are this machine's: the check follows what it has.
        var endpoint = !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"))
            || !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"));
        Assert.Equal(endpoint, result.Succeeded);
        if (!endpoint)
        {
            Assert.Contains("HostAgent:LogExport (--log-export) otlp needs an OTLP logs endpoint", Assert.Single(result.Failures!), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task An_export_file_hostd_cannot_open_stops_it_naming_the_setting()
    {
        var file = Path.Combine(Path.GetTempPath(), "nefele-no-such-dir-" + Guid.NewGuid().ToString("N"), "output.jsonl");
        var e = await Assert.ThrowsAsync<HostAgentStartupException>(() => HostdInstance.StartAsync("--log-export-file", file));
        Assert.Contains("HostAgent:LogExportFile (--log-export-file) " + file, e.Message, StringComparison.Ordinal);
    }

    /// <summary>Settings that pass, so that a test changes only what it checks.</summary>
    private static HostAgentOptions ValidOptions()
    {
        var options = new HostAgentOptions { Node = "n1", RunDirectory = "/tmp/nefele-validate", SpawnLibraryPath = NativeBuild.SpawnLibraryPath };
        options.ApplyDefaults();
        return options;
    }
}
