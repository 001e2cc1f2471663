using System.Globalization;
using Nefele.HostAgent.Cgroups;
using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Control;

/// <summary>The node's capacity and setup as reported in AttachReply.</summary>
public sealed class NodeFactsProvider(HostAgentOptions options, ICgroupManager cgroups)
{
    public NodeFacts Get() => new()
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
