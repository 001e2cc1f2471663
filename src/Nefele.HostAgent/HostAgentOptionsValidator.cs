using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Nefele.HostAgent;

/// <summary>Fails start-up with a message naming the bad setting and what is allowed.</summary>
public sealed partial class HostAgentOptionsValidator : IValidateOptions<HostAgentOptions>
{
    public ValidateOptionsResult Validate(string? name, HostAgentOptions o)
    {
        var errors = new List<string>();
        var s = HostAgentOptions.SectionName;
        if (!SafeName().IsMatch(o.Node))
        {
            errors.Add($"{s}:Node (--node) '{o.Node}' must be 1-64 characters of [A-Za-z0-9._-]: it becomes a cgroup directory name");
        }

        if (!SafeName().IsMatch(o.CgroupRoot))
        {
            errors.Add($"{s}:CgroupRoot (--cgroup-root) '{o.CgroupRoot}' must be 1-64 characters of [A-Za-z0-9._-]");
        }

        if (o.Engine is not ("native" or "systemd"))
        {
            errors.Add($"{s}:Engine (--engine) '{o.Engine}' is not a known engine; allowed: native, systemd");
        }

        if (o.Engine == "systemd" && string.IsNullOrWhiteSpace(o.SystemdBus))
        {
            errors.Add($"{s}:SystemdBus (--systemd-bus) is required with --engine systemd here: PID 1 is not systemd, so there is no host systemd bus; give a running systemd's bus (scripts/systemd-testbed bus prints the testbed's)");
        }

        if (!Path.IsPathFullyQualified(o.SharedDirectory))
        {
            errors.Add($"{s}:SharedDirectory ({Nefele.Shared.SharedDirectory.Flag}) '{o.SharedDirectory}' must be an absolute path");
        }

        if (!Path.IsPathFullyQualified(o.ImageCache))
        {
            errors.Add($"{s}:ImageCache (--image-cache) '{o.ImageCache}' must be an absolute path");
        }

        if (o.HandshakeTimeout < TimeSpan.FromMilliseconds(100) || o.HandshakeTimeout > TimeSpan.FromMinutes(10))
        {
            errors.Add($"{s}:HandshakeTimeout (--handshake-timeout) {o.HandshakeTimeout} must be between 100ms and 10m");
        }

        if (o.StopGrace < TimeSpan.Zero || o.StopGrace > TimeSpan.FromMinutes(10))
        {
            errors.Add($"{s}:StopGrace (--stop-grace) {o.StopGrace} must be between 0 and 10m");
        }

        if (o.EndedLogsKept is < 0 or > 1_000_000)
        {
            errors.Add($"{s}:EndedLogsKept (--ended-logs-kept) {o.EndedLogsKept} must be between 0 and 1000000");
        }

        if (o.LogLimitBytes < 4096 || o.LogLimitBytes > 1L << 30)
        {
            errors.Add($"{s}:LogLimitBytes (--log-limit) {o.LogLimitBytes} must be between 4Ki and 1Gi (4096 and 1073741824 bytes)");
        }

        if (o.LogExport is not ("" or "off" or "otlp"))
        {
            errors.Add($"{s}:LogExport (--log-export) '{o.LogExport}' is not a known export; allowed: otlp, off");
        }
        else if (o.LogExport == "otlp" && !LogsEndpointSet())
        {
            errors.Add($"{s}:LogExport (--log-export) otlp needs an OTLP logs endpoint: set OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_LOGS_ENDPOINT");
        }

        if (o.LogExportFile.Length > 0 && !Path.IsPathFullyQualified(o.LogExportFile))
        {
            errors.Add($"{s}:LogExportFile (--log-export-file) '{o.LogExportFile}' must be an absolute path");
        }

        if (o.LogExportQueue is < 64 or > 1_000_000)
        {
            errors.Add($"{s}:LogExportQueue (--log-export-queue) {o.LogExportQueue} must be between 64 and 1000000");
        }

        if (o.LivenessPort is < 0 or > 65535)
        {
            errors.Add($"{s}:LivenessPort (--liveness-port) {o.LivenessPort} must be between 0 (not served) and 65535");
        }

        if (!string.IsNullOrEmpty(o.MetricsListen) && o.MetricsPrefix() is null)
        {
            errors.Add($"{s}:MetricsListen (--metrics-listen) '{o.MetricsListen}' must be host:port, e.g. 127.0.0.1:9464");
        }

        if (o.PendingMailboxTimeout < TimeSpan.FromSeconds(1) || o.PendingMailboxTimeout > TimeSpan.FromHours(1))
        {
            errors.Add($"{s}:PendingMailboxTimeout (--pending-mailbox-timeout) {o.PendingMailboxTimeout} must be between 1s and 1h");
        }

        errors.AddRange(o.Containers.Validate(s));

        if (o.ImageCacheSweep != TimeSpan.Zero && (o.ImageCacheSweep < TimeSpan.FromSeconds(1) || o.ImageCacheSweep > TimeSpan.FromDays(1)))
        {
            errors.Add($"{s}:ImageCacheSweep (--image-cache-sweep) {o.ImageCacheSweep} must be 0 (off) or between 1s and 24h");
        }

        if (o.SiloAnswerTimeout < TimeSpan.FromSeconds(1) || o.SiloAnswerTimeout > TimeSpan.FromMinutes(10))
        {
            errors.Add($"{s}:SiloAnswerTimeout (--silo-answer-timeout) {o.SiloAnswerTimeout} must be between 1s and 10m");
        }

        if (o.RlimitNofile is < 64 or > 1 << 20)
        {
            errors.Add($"{s}:RlimitNofile (--rlimit-nofile) {o.RlimitNofile} must be between 64 and 1048576");
        }

        if (o.RlimitNproc is < 16 or > 1 << 22)
        {
            errors.Add($"{s}:RlimitNproc (--rlimit-nproc) {o.RlimitNproc} must be between 16 and 4194304");
        }

        if (o.RlimitCore < 0 || o.RlimitCore > 1L << 40)
        {
            errors.Add($"{s}:RlimitCore (--rlimit-core) {o.RlimitCore} must be between 0 and 1TiB");
        }

        if (string.Equals(o.Engine, "native", StringComparison.Ordinal) && !File.Exists(o.SpawnLibraryPath))
        {
            errors.Add($"{s}:SpawnLibraryPath (--spawn-lib) {o.SpawnLibraryPath} does not exist; build it with 'make -C native' or set NEFELE_SPAWN_LIB");
        }

        // Unix socket paths are limited to 107 bytes; fail here rather than with an obscure bind error.
        if (System.Text.Encoding.UTF8.GetByteCount(o.ControlSocketPath) > 107)
        {
            errors.Add($"{s}:RunDirectory (--run-dir) {o.RunDirectory} is too long for a unix socket path (107 bytes at most)");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    // The OTLP exporter reads its endpoint from the environment, so that is where to look.
    private static bool LogsEndpointSet() =>
        !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"))
        || !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"));

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex SafeName();
}
