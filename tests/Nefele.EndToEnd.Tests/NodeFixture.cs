using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>One node shared by the tests of a class (starting a node takes a few seconds).</summary>
public sealed class NodeFixture : IAsyncLifetime
{
    public NodeUnderTest Node { get; private set; } = null!;

    public async Task InitializeAsync() => Node = await NodeUnderTest.StartAsync();

    public async Task DisposeAsync() => await Node.DisposeAsync();
}
