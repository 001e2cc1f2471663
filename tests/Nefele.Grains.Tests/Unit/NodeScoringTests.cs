using Nefele.Client;
using Nefele.Nodes;
using Nefele.Placement;

namespace Nefele.Grains.Tests.Unit;

public class NodeScoringTests
{
    private const long GiB = 1L << 30;
    private static readonly (long Cpu, long Memory) TwoCoresFourGiB = (2000, 4 * GiB);
    private static readonly (long Cpu, long Memory) Nothing = (0, 0);

    private static ResourceAsk[] Asks(int count, long cpu, long memory) =>
        Enumerable.Repeat(new ResourceAsk(cpu, memory), count).ToArray();

    [Theory]
    [InlineData(1, 500, 0, 1)]
    [InlineData(4, 500, 0, 4)]
    [InlineData(5, 500, 0, 4)]
    [InlineData(3, 1000, 0, 2)]
    [InlineData(5, 0, GiB, 4)]
    [InlineData(10, 0, 0, 10)]
    [InlineData(1, 2001, 0, 0)]
    public void Fits_counts_the_asks_that_fit_in_order(int count, long cpu, long memory, int fits)
    {
        var offer = NodeScoring.Offer("n", true, TwoCoresFourGiB, Nothing, Asks(count, cpu, memory));
        Assert.Equal(fits, offer.Fits);
        Assert.Equal(fits == count, offer.Shortfall is null);
    }

    [Fact]
    public void Cpu_shortfall_names_cpu_and_what_is_free()
    {
        var offer = NodeScoring.Offer("n", true, TwoCoresFourGiB, (1500, 0), Asks(1, 700, 0));
        Assert.Equal(0, offer.Fits);
        Assert.Equal("cpu: 700m asked, 500m free of 2 cores on node n", offer.Shortfall);
        Assert.Equal(500, offer.FreeCpuMillis);
    }

    [Fact]
    public void Cpu_shortfall_counts_the_asks_before_it()
    {
        var offer = NodeScoring.Offer("n", true, TwoCoresFourGiB, Nothing, Asks(5, 500, 0));
        Assert.Equal("cpu: 2500m asked, 2 cores free of 2 cores on node n", offer.Shortfall);
    }

    [Fact]
    public void Memory_shortfall_names_memory_and_what_is_free()
    {
        var offer = NodeScoring.Offer("n", true, TwoCoresFourGiB, (0, 3 * GiB), Asks(1, 0, 2 * GiB));
        Assert.Equal(0, offer.Fits);
        Assert.Equal("memory: 2 GiB asked, 1 GiB free of 4 GiB on node n", offer.Shortfall);
        Assert.Equal(GiB, offer.FreeMemoryBytes);
    }

    [Fact]
    public void Node_without_host_agent_fits_nothing()
    {
        var offer = NodeScoring.Offer("n", false, TwoCoresFourGiB, Nothing, Asks(1, 0, 0));
        Assert.Equal(0, offer.Fits);
        Assert.Contains("no host agent", offer.Shortfall, StringComparison.Ordinal);
    }

    [Fact]
    public void Balanced_placement_scores_higher_than_one_that_strands_a_resource()
    {
        var ask = Asks(1, 500, GiB);

        // Both nodes would keep half of their resources free on average; one evenly, one not.
        var balanced = NodeScoring.Offer("b", true, TwoCoresFourGiB, (500, GiB), ask);
        var stranding = NodeScoring.Offer("s", true, TwoCoresFourGiB, (0, 2 * GiB), ask);

        Assert.Equal(1, balanced.Fits);
        Assert.Equal(1, stranding.Fits);
        Assert.True(balanced.Score > stranding.Score, $"balanced {balanced.Score} vs stranding {stranding.Score}");
    }

    [Fact]
    public void Emptier_node_scores_higher()
    {
        var ask = Asks(1, 500, GiB);
        var empty = NodeScoring.Offer("e", true, TwoCoresFourGiB, Nothing, ask);
        var busy = NodeScoring.Offer("b", true, TwoCoresFourGiB, (1000, 2 * GiB), ask);
        Assert.True(empty.Score > busy.Score);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(2000, 4 * GiB)]
    [InlineData(3000, 8 * GiB)]
    public void Score_stays_between_zero_and_one(long takenCpu, long takenMemory)
    {
        var offer = NodeScoring.Offer("n", true, TwoCoresFourGiB, (takenCpu, takenMemory), Asks(1, 100, GiB));
        Assert.InRange(offer.Score, 0, 1);
    }

    [Theory]
    [InlineData(2000, "2 cores")]
    [InlineData(500, "500m")]
    [InlineData(2500, "2500m")]
    public void Cpu_is_formatted_in_cores_or_millicores(long millis, string expected) =>
        Assert.Equal(expected, NodeScoring.FormatCpu(millis));

    [Theory]
    [InlineData(512L, "512 B")]
    [InlineData(1536L, "1.5 KiB")]
    [InlineData(1L << 20, "1 MiB")]
    [InlineData(3L << 29, "1.5 GiB")]
    public void Bytes_are_formatted_in_binary_units(long bytes, string expected) =>
        Assert.Equal(expected, NodeScoring.FormatBytes(bytes));
}
