namespace Nefele.HostAgent.Tests;

/// <summary>Tests that each get a hostd of their own with a silo connection attached, stopped after the test.</summary>
public abstract class AttachedHostdTests : IAsyncLifetime
{
    private protected HostdInstance Hostd { get; private set; } = null!;

    private protected SiloConnection Silo { get; private set; } = null!;

    /// <summary>A test that reattached through a new connection makes it the one cleaned up.</summary>
    private protected void ReplaceSilo(SiloConnection silo) => Silo = silo;

    public async Task InitializeAsync()
    {
        Hostd = await HostdInstance.StartAsync();
        Silo = await Hostd.AttachAsync();
    }

    public async Task DisposeAsync()
    {
        await Silo.DisposeAsync();
        await Hostd.DisposeAsync();
    }
}
