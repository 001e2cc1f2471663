using Nefele.Client;

namespace Nefele.Grains.Tests.Support;

/// <summary>Base of the grain tests: a tenant on the shared silo, and a free node before and after each test.</summary>
[Collection(ClusterCollection.Name)]
public abstract class ClusterTest(ClusterFixture cluster) : IAsyncLifetime
{
    protected ClusterFixture Cluster { get; } = cluster;

    protected NefeleTenant Tenant { get; } = new(cluster.Client, "t-" + Guid.NewGuid().ToString("N")[..8]);

    public async Task InitializeAsync()
    {
        await Cluster.TenantAsync(Tenant.Name);
        await Cluster.ExitEverythingAsync();
    }

    public Task DisposeAsync() => Cluster.ExitEverythingAsync();
}
