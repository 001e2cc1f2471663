using Nefele.Nodes;
using Nefele.Placement;

namespace Nefele.Grains.Tests.Unit;

public class NodeScoringLoadTests
{
    private const long GiB = 1L << 30;
    private static readonly (long Cpu, long Memory) FourCoresEightGiB = (4000, 8 * GiB);
    private static readonly IReadOnlyDictionary<string, long> None = new Dictionary<string, long>();
    private static readonly IReadOnlyDictionary<string, long> TwoGpus = new Dictionary<string, long> { ["gpu"] = 2 };

    private static double Score(double load, long cpu = 1000, long memory = 2 * GiB, IReadOnlyDictionary<string, long>? devices = null, IReadOnlyDictionary<string, long>? asked = null) =>
        NodeScoring.Offer("n", true, FourCoresEightGiB, (0, 0), [new ResourceAsk(cpu, memory, asked)], devices ?? None, None, load).Score;

    // load, expected score (1 core and 2 GiB of 4 cores and 8 GiB asked: 0.75 free of each, no stranding)
    [Theory]
    [InlineData(0.0, 0.75)]
    [InlineData(0.5, 0.70)]
    [InlineData(0.8, 0.67)]
    [InlineData(0.9, 0.335)]
    [InlineData(0.95, 0.1675)]
    [InlineData(1.0, 0.0)]
    [InlineData(1.7, 0.0)]
    [InlineData(double.NaN, 0.75)]
    public void Measured_load_cuts_the_score_and_above_the_high_mark_steeply(double load, double expected)
    {
        Assert.Equal(expected, Score(load), 3);
    }

    [Fact]
    public void Of_two_equal_nodes_the_quieter_scores_higher_even_below_the_high_mark()
    {
        Assert.True(Score(0.2) > Score(0.3));
    }

    [Fact]
    public void Load_does_not_change_what_fits()
    {
        var offer = NodeScoring.Offer("n", true, FourCoresEightGiB, (0, 0), [new ResourceAsk(4000, 0)], None, None, 1.0);
        Assert.Equal(1, offer.Fits);
        Assert.Equal(1.0, offer.CpuLoad);
    }

    [Fact]
    public void Stranding_still_costs_under_load()
    {
        // Same free share in total, but all of it CPU: stranded memory cannot be sold.
        Assert.True(Score(0.5, cpu: 2000, memory: 2 * GiB) > Score(0.5, cpu: 4000, memory: 0));
    }

    [Fact]
    public void A_device_node_scores_lower_for_a_task_that_needs_no_device()
    {
        Assert.Equal(0.65, Score(0, devices: TwoGpus), 3);
        Assert.Equal(0.75, Score(0, devices: TwoGpus, asked: new Dictionary<string, long> { ["gpu"] = 1 }), 3);
    }

    [Fact]
    public void Devices_are_counted_like_cpu_and_memory()
    {
        var ask = new ResourceAsk(0, 0, new Dictionary<string, long> { ["gpu"] = 1 });
        var offer = NodeScoring.Offer("n", true, FourCoresEightGiB, (0, 0), [ask, ask, ask], TwoGpus, new Dictionary<string, long> { ["gpu"] = 1 }, 0);

        Assert.Equal(1, offer.Fits);
        Assert.Equal("device gpu: 2 asked, 1 free of 2 on node n", offer.Shortfall);
        Assert.Equal(1, offer.FreeDevices["gpu"]);
    }

    [Fact]
    public void A_device_the_node_does_not_have_is_named()
    {
        var offer = NodeScoring.Offer("n", true, FourCoresEightGiB, (0, 0), [new ResourceAsk(0, 0, new Dictionary<string, long> { ["fpga"] = 1 })], TwoGpus, None, 0);
        Assert.Equal(0, offer.Fits);
        Assert.Equal("device fpga: node n has none", offer.Shortfall);
    }
}
