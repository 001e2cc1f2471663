using System.Globalization;

namespace Nefele.Bench.Soak;

/// <summary>The soak's flags; a bad one stops it with a sentence naming the flag.</summary>
internal sealed class SoakOptions
{
    public required string Api { get; init; }

    public required string Token { get; init; }

    public required int SiloPid { get; init; }

    public required int HostdPid { get; init; }

    public int? RedisPort { get; init; }

    public string? LogDir { get; init; }

    /// <summary>Tasks run /bin/echo (one line of output, so a log per process) instead of /bin/true.</summary>
    public bool Echo { get; init; }

    public double Minutes { get; init; } = 30;

    public int Clients { get; init; } = 6;

    public int TasksPerRequest { get; init; } = 5;

    public TimeSpan SampleEvery { get; init; } = TimeSpan.FromSeconds(15);

    public double WarmupMinutes { get; init; } = 5;

    public int RetentionCount { get; init; }

    public TimeSpan RetentionAge { get; init; }

    public required string Out { get; init; }

    public static SoakOptions Parse(string[] args)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"unexpected argument {args[i]} (flags are --name VALUE)");
            }

            map[args[i][2..]] = args[++i];
        }

        string Need(string name) => map.TryGetValue(name, out var v) ? v : throw new ArgumentException($"--{name} is required");
        int Int(string name, int fallback, int min) =>
            !map.TryGetValue(name, out var v) ? fallback
            : int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min ? n
            : throw new ArgumentException($"--{name} {v} must be a whole number of at least {min}");
        double Number(string name, double fallback) =>
            !map.TryGetValue(name, out var v) ? fallback
            : double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n > 0 ? n
            : throw new ArgumentException($"--{name} {v} must be a positive number");

        var minutes = Number("minutes", 30);
        return new SoakOptions
        {
            Api = Need("api").TrimEnd('/'),
            Token = Environment.GetEnvironmentVariable("NEFELE_TOKEN") is { Length: > 0 } t ? t : throw new ArgumentException("NEFELE_TOKEN must hold an admin API key"),
            SiloPid = Int("silo-pid", 0, 1),
            HostdPid = Int("hostd-pid", 0, 1),
            RedisPort = map.ContainsKey("redis-port") ? Int("redis-port", 0, 1) : null,
            LogDir = map.GetValueOrDefault("log-dir"),
            Echo = map.ContainsKey("echo"),
            Minutes = minutes,
            Clients = Int("clients", 6, 1),
            TasksPerRequest = Int("tasks", 5, 1),
            SampleEvery = TimeSpan.FromSeconds(Number("sample-seconds", 15)),
            WarmupMinutes = Number("warmup-minutes", Math.Min(5, minutes / 3)),
            RetentionCount = Int("retention-count", 0, 0),
            RetentionAge = map.TryGetValue("retention-age", out var age) ? TimeSpan.Parse(age, CultureInfo.InvariantCulture) : TimeSpan.Zero,
            Out = Need("out"),
        };
    }
}
