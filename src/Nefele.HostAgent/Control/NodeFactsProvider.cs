using System.Globalization;
using System.Text.RegularExpressions;
using Nefele.HostAgent.Cgroups;
using Nefele.HostAgent.Monitoring;
using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Control;

/// <summary>The node's capacity and setup as reported in AttachReply, and its measured load for UsageReply.</summary>
public sealed partial class NodeFactsProvider(HostAgentOptions options, ICgroupManager cgroups, NodeLoadMonitor load)
{
    public NodeFacts Get()
    {
        var facts = Basic();
        foreach (var (name, count) in DetectDevices("/dev"))
        {
            facts.Devices[name] = count;
        }

        return facts;
    }

    /// <summary>Adds the node's latest measured CPU load and memory in use to a usage reply.</summary>
    public UsageReply WithLoad(UsageReply usage)
    {
        usage.NodeCpuLoad = load.CpuLoad;
        usage.NodeMemoryUsedBytes = load.MemoryUsedBytes;
        return usage;
    }

    /// <summary>Devices found in <paramref name="dev"/>: gpu = the number of /dev/nvidia&lt;N&gt; nodes.</summary>
    public static IReadOnlyDictionary<string, long> DetectDevices(string dev)
    {
        var found = new Dictionary<string, long>(StringComparer.Ordinal);
        try
        {
            var gpus = Directory.EnumerateFileSystemEntries(dev, "nvidia*").Count(p => NvidiaDevice().IsMatch(Path.GetFileName(p)));
            if (gpus > 0)
            {
                found["gpu"] = gpus;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return found;
    }

    [GeneratedRegex("^nvidia[0-9]+$")]
    private static partial Regex NvidiaDevice();

    private NodeFacts Basic() => new()
    {
        Node = options.Node,
        Hostname = Environment.MachineName,
        Cpus = OnlineCpus(),
        MemoryBytes = MemTotal(),
        Engine = options.Engine,
        ApiSocket = options.ApiSocketPath,
        Cgroups = cgroups.Flavor switch
        {
            CgroupFlavor.V2 => "v2",
            CgroupFlavor.V1 => "v1",
            _ => "none",
        },
    };

    /// <summary>Counts /sys/devices/system/cpu/online ranges ("0-3,6"); falls back to the runtime's count.</summary>
    public static int OnlineCpus()
    {
        try
        {
            var count = 0;
            foreach (var range in File.ReadAllText("/sys/devices/system/cpu/online").Trim().Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                var bounds = range.Split('-');
                count += bounds.Length == 2
                    ? int.Parse(bounds[1], CultureInfo.InvariantCulture) - int.Parse(bounds[0], CultureInfo.InvariantCulture) + 1
                    : 1;
            }

            return count > 0 ? count : Environment.ProcessorCount;
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            return Environment.ProcessorCount;
        }
    }

    /// <summary>MemTotal from /proc/meminfo, in bytes (0 if unreadable).</summary>
    public static long MemTotal()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                {
                    var kb = line["MemTotal:".Length..].Trim().Split(' ')[0];
                    return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
        }

        return 0;
    }
}
