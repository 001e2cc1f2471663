using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>The C API's test classes share one node: each only spawns its own processes in its own tenants.</summary>
[CollectionDefinition(Name)]
public sealed class CApiNode : ICollectionFixture<NodeFixture>
{
    public const string Name = "C API node";
}
