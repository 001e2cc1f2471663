using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Nefele.HostAgent.Monitoring;

/// <summary>
/// The node's monitoring agent: samples /proc/stat every second for the share of CPU time
/// spent busy since the previous sample, and /proc/meminfo for memory in use
/// (MemTotal − MemAvailable). The silo's node grain reads the latest values through
/// UsageReply and its scoring avoids nodes whose measured load is high.
/// </summary>
public sealed class NodeLoadMonitor(ILogger<NodeLoadMonitor> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private CpuTimes? _previous;
    private double _cpuLoad;
    private long _memoryUsed;

    /// <summary>Busy share of all CPUs over the last interval, 0..1 (0 before the first one).</summary>
    public double CpuLoad => Volatile.Read(ref _cpuLoad);

    public long MemoryUsedBytes => Interlocked.Read(ref _memoryUsed);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Sample();
        using var timer = new PeriodicTimer(Interval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            Sample();
        }
    }

    private void Sample()
    {
        try
        {
            var now = ParseCpuTimes(File.ReadLines("/proc/stat").First());
            if (_previous is { } before)
            {
                Volatile.Write(ref _cpuLoad, Load(before, now));
            }

            _previous = now;
            Interlocked.Exchange(ref _memoryUsed, ParseMemoryUsed(File.ReadLines("/proc/meminfo")));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or InvalidOperationException)
        {
            logger.LogDebug("Node load not sampled: {Error}", e.Message);
        }
    }

    /// <summary>The aggregate "cpu" line of /proc/stat: busy and total jiffies (idle and iowait are not busy).</summary>
    public static CpuTimes ParseCpuTimes(string line)
    {
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 5 || fields[0] != "cpu")
        {
            throw new FormatException($"not the aggregate cpu line of /proc/stat: '{line}'");
        }

        // user nice system idle iowait irq softirq steal (guest and guest_nice are already in user and nice).
        var values = fields.Skip(1).Take(8).Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        var total = values.Sum();
        var idle = values[3] + (values.Length > 4 ? values[4] : 0);
        return new CpuTimes(total - idle, total);
    }

    public static double Load(CpuTimes before, CpuTimes after)
    {
        var total = after.Total - before.Total;
        return total <= 0 ? 0 : Math.Clamp((double)(after.Busy - before.Busy) / total, 0, 1);
    }

    /// <summary>MemTotal − MemAvailable, in bytes (0 when either is missing).</summary>
    public static long ParseMemoryUsed(IEnumerable<string> meminfo)
    {
        long total = -1, available = -1;
        foreach (var line in meminfo)
        {
            if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
            {
                total = Kilobytes(line);
            }
            else if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
            {
                available = Kilobytes(line);
            }

            if (total >= 0 && available >= 0)
            {
                return Math.Max(0, total - available) * 1024;
            }
        }

        return 0;
    }

    private static long Kilobytes(string line) =>
        long.Parse(line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
}
