using Nefele.Nodes;

namespace Nefele.Grains.Tests.Support;

/// <summary>
/// A grain test on hollow nodes: the shared silo's real node ("node-a") is filled so nothing
/// lands there by chance, and every hollow node declared is removed afterwards, so the other
/// tests see one real node again.
/// </summary>
public abstract class HollowClusterTest(ClusterFixture cluster) : ClusterTest(cluster), IAsyncLifetime
{
    protected const long GiB = 1L << 30;

    protected INodeDirectoryGrain Directory => Cluster.Client.GetGrain<INodeDirectoryGrain>(INodeDirectoryGrain.Key);

    protected Task<IReadOnlyList<string>> AddHollowAsync(int count, long cpuMillis = 4000, long memoryBytes = 8 * GiB,
        Dictionary<string, string>? labels = null, Dictionary<string, long>? devices = null, double load = 0) =>
        Directory.AddHollowAsync(count, new HollowNode
        {
            Name = HollowNode.Prefix,
            CpuMillis = cpuMillis,
            MemoryBytes = memoryBytes,
            Labels = labels ?? [],
            Devices = devices ?? [],
            CpuLoad = load,
        });

    protected Task<NodeCapacity> CapacityAsync(string node) => Cluster.Client.GetGrain<INodeGrain>(node).GetCapacityAsync();

    protected async Task<string> NodeOfAsync(string npid) => (await Tenant.GetAsync(npid)).Node!;

    async Task IAsyncLifetime.InitializeAsync()
    {
        await Cluster.TenantAsync(Tenant.Name);
        await Cluster.ExitEverythingAsync();
        await Directory.RemoveHollowAsync();

        // The real node takes nothing that asks for resources while these tests run.
        await Cluster.NodeGrain.TrackAsync(Filler, new Placement.ResourceAsk(RecordingHostAgentChannel.Cpus * 1000, RecordingHostAgentChannel.MemoryBytes));
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        await Directory.RemoveHollowAsync();
        await Cluster.NodeGrain.ReleaseAsync(Filler);
        await Cluster.ExitEverythingAsync();
    }

    private const string Filler = "filler-for-hollow-tests";
}
