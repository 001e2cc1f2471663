using Nefele.Cli.Commands;
using Nefele.Cli.Parsing;

namespace Nefele.Cli.Tests;

public sealed class PlacementFlagsTests
{
    private static object Parse(params string[] args) => CommandLineParser.Parse(args).Command;

    [Fact]
    public void Nspawn_takes_spread_devices_and_affinities()
    {
        var spawn = Assert.IsType<SpawnCommand>(Parse(
            "nspawn", "4", "--spread", "--device", "gpu=2", "--device=fpga", "--affinity", "label:zone=a",
            "--anti-affinity", "name:web", "--anti-affinity=npid:0123456789abc", "--", "/bin/true"));

        Assert.True(spawn.Batch.Spread);
        var task = Assert.Single(spawn.Batch.Tasks);
        Assert.Equal(2, task.Devices["gpu"]);
        Assert.Equal(1, task.Devices["fpga"]);
        Assert.Equal(["label:zone=a"], task.Affinity);
        Assert.Equal(["name:web", "npid:0123456789abc"], task.AntiAffinity);
    }

    [Fact]
    public void Spawn_takes_devices_and_affinities_but_not_spread()
    {
        var spawn = Assert.IsType<SpawnCommand>(Parse("spawn", "--device", "gpu=1", "--affinity", "name:db", "--", "/bin/true"));
        Assert.False(spawn.Batch.Spread);
        Assert.Equal(1, spawn.Batch.Tasks[0].Devices["gpu"]);
        Assert.Throws<UsageException>(() => Parse("spawn", "--spread", "--", "/bin/true"));
    }

    [Theory]
    [InlineData("gpu=0")]
    [InlineData("gpu=x")]
    [InlineData("=2")]
    public void A_bad_device_is_a_usage_error(string device)
    {
        var e = Assert.Throws<UsageException>(() => Parse("spawn", "--device", device, "--", "/bin/true"));
        Assert.Contains("--device: expected NAME=COUNT", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Cspawn_takes_spread()
    {
        var cspawn = Assert.IsType<CspawnCommand>(Parse("cspawn", "--spread", "f.json"));
        Assert.True(cspawn.Spread);
    }

    [Fact]
    public void Cspawn_file_carries_devices_affinities_and_spread()
    {
        const string json = """
            {"tasks":[{"path":"/bin/true","devices":{"gpu":1},"affinity":["label:zone=a"],"antiAffinity":["name:x"],"count":2}],
             "spread":true}
            """;
        var tasks = CspawnFile.Parse(json, "f.json", out var spread);

        Assert.True(spread);
        Assert.Equal(2, tasks.Count);
        Assert.Equal(1, tasks[0].Devices["gpu"]);
        Assert.Equal(["label:zone=a"], tasks[0].Affinity);
        Assert.Equal(["name:x"], tasks[0].AntiAffinity);
    }
}
