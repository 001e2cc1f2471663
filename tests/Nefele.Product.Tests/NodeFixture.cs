namespace Nefele.Product.Tests;

/// <summary>One node in its own network namespace, shared by every test of the collection.</summary>
public sealed class NodeFixture : IAsyncLifetime
{
    private NetnsNode? _node;

    public NetnsNode Node => _node ?? throw new InvalidOperationException("the node did not start");

    public async Task InitializeAsync() => _node = await NetnsNode.StartAsync();

    public async Task DisposeAsync()
    {
        if (_node is not null)
        {
            await _node.DisposeAsync();
        }
    }
}

/// <summary>The tests that run a program against <see cref="NodeFixture"/>'s node.</summary>
[CollectionDefinition(Name)]
public sealed class NodeCollection : ICollectionFixture<NodeFixture>
{
    public const string Name = "node";
}
