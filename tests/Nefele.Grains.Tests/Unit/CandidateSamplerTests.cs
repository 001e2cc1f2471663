using Nefele.Client;
using Nefele.Nodes;
using Nefele.Placement;
using Nefele.Processes;

namespace Nefele.Grains.Tests.Unit;

public class CandidateSamplerTests
{
    private static readonly ProcessSpec Sleep = new() { Path = "/bin/sleep" };
    private static readonly IReadOnlyDictionary<Selector, IReadOnlySet<string>> NothingResolved = new Dictionary<Selector, IReadOnlySet<string>>();

    /// <summary>Hollow nodes; every hundredth has a gpu and label tier=fast.</summary>
    private static NodeIndex Index(int count) => new(new NodeDirectorySnapshot
    {
        Nodes = Enumerable.Range(0, count).Select(i => new NodeEntry
        {
            Name = $"hollow-{i}",
            Hollow = true,
            Labels = i % 100 == 0 ? new Dictionary<string, string> { ["tier"] = "fast" } : new Dictionary<string, string>(),
            Devices = i % 100 == 0 ? new Dictionary<string, long> { ["gpu"] = 1 } : new Dictionary<string, long>(),
        }).ToArray(),
    });

    [Fact]
    public void Samples_d_distinct_nodes_among_real_and_hollow()
    {
        var sampler = new CandidateSampler(Index(10_000), ["node-a", "node-b"], NothingResolved, new Random(1));
        var (nodes, reason, _) = sampler.Sample(Sleep, 8);

        Assert.Null(reason);
        Assert.Equal(8, nodes.Distinct().Count());
    }

    [Fact]
    public void Small_clusters_are_sampled_whole_including_real_nodes()
    {
        var sampler = new CandidateSampler(Index(2), ["node-a"], NothingResolved, new Random(1));
        Assert.Equal(["hollow-0", "hollow-1", "node-a"], sampler.Sample(Sleep, 4).Nodes.Order());
    }

    [Fact]
    public void A_device_constraint_samples_among_the_nodes_that_have_it()
    {
        // 100 of 10,000 nodes have a gpu: uniform probing would rarely find one in a bounded number of tries.
        var sampler = new CandidateSampler(Index(10_000), [], NothingResolved, new Random(1));
        var (nodes, _, _) = sampler.Sample(Sleep with { Devices = new Dictionary<string, long> { ["gpu"] = 1 } }, 4);

        Assert.Equal(4, nodes.Count);
        Assert.All(nodes, n => Assert.Equal(0, int.Parse(n["hollow-".Length..]) % 100));
    }

    [Fact]
    public void A_label_constraint_samples_among_the_nodes_that_carry_it()
    {
        var sampler = new CandidateSampler(Index(10_000), [], NothingResolved, new Random(1));
        var (nodes, _, _) = sampler.Sample(Sleep with { Affinity = ["label:tier=fast"] }, 4);

        Assert.All(nodes, n => Assert.Equal(0, int.Parse(n["hollow-".Length..]) % 100));
    }

    [Fact]
    public void Anti_affinity_to_a_label_everyone_in_its_list_has_is_explained()
    {
        var sampler = new CandidateSampler(Index(1), [], NothingResolved, new Random(1));
        var (nodes, reason, _) = sampler.Sample(Sleep with { AntiAffinity = ["label:tier=fast"] }, 4);

        Assert.Empty(nodes);
        Assert.Equal("anti-affinity label:tier=fast excludes every sampled node (1 sampled)", reason);
    }

    [Fact]
    public void Real_nodes_that_left_membership_are_not_candidates()
    {
        var index = new NodeIndex(new NodeDirectorySnapshot
        {
            Nodes = [new NodeEntry { Name = "node-gone", Labels = new Dictionary<string, string> { ["zone"] = "a" } }],
        });
        var sampler = new CandidateSampler(index, ["node-a"], NothingResolved, new Random(1));
        var (nodes, reason, _) = sampler.Sample(Sleep with { Affinity = ["label:zone=a"] }, 4);

        Assert.Empty(nodes);
        Assert.Equal("no node has label zone=a: 0 of 1 sampled nodes carry it", reason);
    }
}
