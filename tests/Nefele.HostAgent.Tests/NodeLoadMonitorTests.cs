using Nefele.HostAgent.Control;
using Nefele.HostAgent.Monitoring;

namespace Nefele.HostAgent.Tests;

public class NodeLoadMonitorTests
{
    [Fact]
    public void Cpu_line_counts_idle_and_iowait_as_not_busy()
    {
        var times = NodeLoadMonitor.ParseCpuTimes("cpu  100 5 50 800 45 0 0 0 0 0");
        Assert.Equal(new CpuTimes(155, 1000), times);
    }

    [Theory]
    [InlineData(0, 1000, 0, 2000, 0.0)]
    [InlineData(0, 1000, 500, 2000, 0.5)]
    [InlineData(0, 1000, 1000, 2000, 1.0)]
    [InlineData(0, 1000, 0, 1000, 0.0)]
    public void Load_is_the_busy_share_between_two_samples(long busy1, long total1, long busy2, long total2, double load)
    {
        Assert.Equal(load, NodeLoadMonitor.Load(new CpuTimes(busy1, total1), new CpuTimes(busy2, total2)), 6);
    }

    [Fact]
    public void A_line_that_is_not_the_aggregate_cpu_line_is_refused()
    {
        Assert.Throws<FormatException>(() => NodeLoadMonitor.ParseCpuTimes("cpu0 1 2 3 4"));
    }

    [Fact]
    public void Memory_in_use_is_total_less_available()
    {
        var used = NodeLoadMonitor.ParseMemoryUsed(["MemTotal:       16000000 kB", "MemFree:         1000000 kB", "MemAvailable:    6000000 kB"]);
        Assert.Equal(10_000_000L * 1024, used);
    }

    [Fact]
    public void This_machine_reads_as_a_sane_load()
    {
        var times = NodeLoadMonitor.ParseCpuTimes(File.ReadLines("/proc/stat").First());
        Assert.InRange(times.Busy, 0, times.Total);
        Assert.InRange(NodeLoadMonitor.ParseMemoryUsed(File.ReadLines("/proc/meminfo")), 1, NodeFactsProvider.MemTotal());
    }

    [Fact]
    public void Gpus_are_counted_from_numbered_nvidia_device_nodes()
    {
        var dev = Directory.CreateTempSubdirectory("nefele-dev-");
        try
        {
            foreach (var name in new[] { "nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm", "null" })
            {
                File.WriteAllText(Path.Combine(dev.FullName, name), string.Empty);
            }

            Assert.Equal(2, NodeFactsProvider.DetectDevices(dev.FullName)["gpu"]);
            Assert.Empty(NodeFactsProvider.DetectDevices(Path.Combine(dev.FullName, "missing")));
        }
        finally
        {
            dev.Delete(recursive: true);
        }
    }
}
