using Nefele.Client;
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

    // The rule (README "NodeGrain", NodeScoring's summary): the score is the free capacity left
    // after placing, penalised for stranding and for load; below the high mark (0.8) the load costs
    // a tenth of itself; above it the score shrinks in proportion to the headroom left, reaching 0
    // at a fully busy node. The case: 1 core and 2 GiB asked of 4 cores and 8 GiB leaves 3/4 of the
    // cores and 6/8 of the memory free, an even 0.75 of each, so nothing is stranded.
    private const double Idle = 0.75;
    private const double HighMark = 0.8;
    private const double AtHighMark = Idle - (HighMark / 10); // 0.67

    // load, expected score, worked by hand from the rule
    [Theory]
    [InlineData(0.0, Idle)]
    [InlineData(0.5, Idle - 0.05)] // a tenth of 0.5
    [InlineData(0.8, AtHighMark)] // a tenth of 0.8
    [InlineData(0.9, AtHighMark * 0.5)] // headroom 0.1 of the 0.2 above the mark: half left
    [InlineData(0.95, AtHighMark * 0.25)] // headroom 0.05 of 0.2: a quarter left
    [InlineData(1.0, 0.0)] // fully busy
    [InlineData(1.7, 0.0)] // beyond busy is still busy, never negative
    [InlineData(double.NaN, Idle)] // no measurement yet: no penalty
    public void Measured_load_cuts_the_score_and_above_the_high_mark_steeply(double load, double expected)
    {
        Assert.Equal(expected, Score(load), 3);
    }

    [Fact]
    public void Above_the_high_mark_the_score_is_proportional_to_the_headroom_left()
    {
        var atMark = Score(HighMark);
        for (var load = 0.81; load <= 1.0; load += 0.01)
        {
            Assert.Equal(atMark * (1 - load) / (1 - HighMark), Score(load), 6);
        }
    }

    [Fact]
    public void The_score_never_rises_with_load()
    {
        var previous = Score(0);
        for (var load = 0.05; load <= 1.2; load += 0.05)
        {
            var score = Score(load);
            Assert.True(score <= previous, $"score {score} at load {load:0.00} above {previous} at the load before");
            previous = score;
        }
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
        // "keeps device nodes for tasks that need devices": for a plain task the plain node wins;
        // a task that needs the device is not put off by it.
        Assert.True(Score(0, devices: TwoGpus) < Score(0));
        Assert.Equal(Idle, Score(0), 3);
        Assert.Equal(Idle, Score(0, devices: TwoGpus, asked: new Dictionary<string, long> { ["gpu"] = 1 }), 3);
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
