namespace Nefele.Grains.Tests.Support;

/// <summary>Grain tests share one silo; they run one at a time and each leaves the node free.</summary>
[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
