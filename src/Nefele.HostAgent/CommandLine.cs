using System.Globalization;

namespace Nefele.HostAgent;

/// <summary>
/// Turns the short flags (<c>--node x</c>, <c>--handshake-timeout 5s</c>, <c>--log-limit 1Mi</c>)
/// into <c>HostAgent:*</c> configuration keys. Anything else is left for the standard
/// command-line configuration provider (e.g. <c>--HostAgent:Node=x</c>).
/// </summary>
public static class CommandLine
{
    private static readonly Dictionary<string, (string Key, Func<string, string> Convert)> Flags = new(StringComparer.Ordinal)
    {
        ["--node"] = ("Node", v => v),
        ["--run-dir"] = ("RunDirectory", v => v),
        ["--shim"] = ("ShimPath", v => v),
        ["--spawn-lib"] = ("SpawnLibraryPath", v => v),
        ["--engine"] = ("Engine", v => v),
        [Nefele.Shared.SharedDirectory.Flag] = ("SharedDirectory", v => v),
        ["--image-cache"] = ("ImageCache", v => v),
        ["--image-cache-sweep"] = ("ImageCacheSweep", v => ParseDuration(v).ToString("c", CultureInfo.InvariantCulture)),
        ["--systemd-bus"] = ("SystemdBus", v => v),
        ["--handshake-timeout"] = ("HandshakeTimeout", v => ParseDuration(v).ToString("c", CultureInfo.InvariantCulture)),
        ["--stop-grace"] = ("StopGrace", v => ParseDuration(v).ToString("c", CultureInfo.InvariantCulture)),
        ["--log-limit"] = ("LogLimitBytes", v => ParseSize(v).ToString(CultureInfo.InvariantCulture)),
        ["--ended-logs-kept"] = ("EndedLogsKept", v => v),
        ["--log-export"] = ("LogExport", v => v),
        ["--log-export-file"] = ("LogExportFile", v => v),
        ["--log-export-queue"] = ("LogExportQueue", v => v),
        ["--cgroup-root"] = ("CgroupRoot", v => v),
        ["--rlimit-nofile"] = ("RlimitNofile", v => v),
        ["--rlimit-nproc"] = ("RlimitNproc", v => v),
        ["--rlimit-core"] = ("RlimitCore", v => ParseSize(v).ToString(CultureInfo.InvariantCulture)),
        ["--silo-uid"] = ("SiloUid", v => v),
        ["--control-secret-file"] = ("ControlSecretFile", v => v),
        ["--liveness-port"] = ("LivenessPort", v => v),
        ["--metrics-listen"] = ("MetricsListen", v => HostAgentOptions.MetricsPrefix(v) is null ? throw new FormatException("allowed: host:port, e.g. 127.0.0.1:9464") : v),
        ["--cluster-id"] = ("ClusterId", v => v),
        ["--pending-mailbox-timeout"] = ("PendingMailboxTimeout", v => ParseDuration(v).ToString("c", CultureInfo.InvariantCulture)),
        ["--silo-answer-timeout"] = ("SiloAnswerTimeout", v => ParseDuration(v).ToString("c", CultureInfo.InvariantCulture)),
        ["--container-linger"] = ("Containers:Linger", v => ParseDuration(v).ToString("c", CultureInfo.InvariantCulture)),
        ["--container-start-timeout"] = ("Containers:StartTimeout", v => ParseDuration(v).ToString("c", CultureInfo.InvariantCulture)),
        ["--container-mode"] = ("Containers:Mode", v => v),
        ["--container-network"] = ("Containers:Network", v => v),
        ["--containers"] = ("Containers:Enabled", v => v switch
        {
            "on" => "true",
            "off" => "false",
            _ => throw new FormatException("allowed: on, off"),
        }),
        ["--container-state-dir"] = ("Containers:StateDirectory", v => v),
        ["--pause"] = ("Containers:PausePath", v => v),
        ["--tenant-network-pool"] = ("TenantNetwork:Pool", v => v),
        ["--tenant-network-prefix"] = ("TenantNetwork:TenantPrefixLength", v => v),
        ["--tenant-uid-start"] = ("TenantNetwork:TenantUidRangeStart", v => v),
        ["--vxlan-port"] = ("TenantNetwork:VxlanPort", v => v),
    };

    /// <summary>Splits args into settings from short flags and the remaining args.</summary>
    /// <exception cref="ArgumentException">A flag has no value or an unparsable one (the message names the flag).</exception>
    public static (Dictionary<string, string?> Settings, string[] Remaining) Parse(IReadOnlyList<string> args)
    {
        var settings = new Dictionary<string, string?>(StringComparer.Ordinal);
        var rest = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            var flag = eq > 0 ? arg[..eq] : arg;
            if (!Flags.TryGetValue(flag, out var target))
            {
                rest.Add(arg);
                continue;
            }

            string value;
            if (eq > 0)
            {
                value = arg[(eq + 1)..];
            }
            else if (i + 1 < args.Count)
            {
                value = args[++i];
            }
            else
            {
                throw new ArgumentException($"{flag} needs a value");
            }

            try
            {
                settings[$"{HostAgentOptions.SectionName}:{target.Key}"] = target.Convert(value);
            }
            catch (FormatException e)
            {
                throw new ArgumentException($"{flag} {value}: {e.Message}", e);
            }
        }

        return (settings, rest.ToArray());
    }

    /// <summary>Parses "5s", "250ms", "2m", "1h" or a bare number of seconds.</summary>
    public static TimeSpan ParseDuration(string text)
    {
        var (number, unit) = SplitUnit(text);
        return unit switch
        {
            "" or "s" => TimeSpan.FromSeconds(number),
            "ms" => TimeSpan.FromMilliseconds(number),
            "m" or "min" => TimeSpan.FromMinutes(number),
            "h" => TimeSpan.FromHours(number),
            _ => throw new FormatException($"unknown duration unit '{unit}'; use ms, s, m or h"),
        };
    }

    /// <summary>Parses sizes in the shared grammar (<see cref="Validation.Units"/>): "1Mi", "512Ki" (powers of 2), "1M" (10^6), "4096" (bytes).</summary>
    public static long ParseSize(string text) => Validation.Units.ParseBytes(text.Trim());

    private static (double Number, string Unit) SplitUnit(string text)
    {
        text = text.Trim();
        var i = 0;
        while (i < text.Length && (char.IsDigit(text[i]) || text[i] == '.'))
        {
            i++;
        }

        if (i == 0 || !double.TryParse(text.AsSpan(0, i), NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            throw new FormatException($"'{text}' does not start with a number");
        }

        return (number, text[i..].Trim());
    }
}
