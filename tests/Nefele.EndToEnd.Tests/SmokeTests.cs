using Nefele.Client;
using Nefele.Processes;
using Xunit;

namespace Nefele.EndToEnd.Tests;

public sealed class SmokeTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    [Fact]
    public async Task Spawned_process_reaches_Running_with_npid_and_pid()
    {
        var tenant = await fixture.Node.SdkAsync();
        var npid = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sleep", Args = ["100"] });
        try
        {
            var info = await tenant.GetAsync(npid);
            Assert.True(Npid.IsWellFormed(npid));
            Assert.Equal(ProcessState.Running, info.State);
            Assert.True(info.Pid > 0);
            Assert.True(Interop.IsAlive(info.Pid));
        }
        finally
        {
            await tenant.KillAsync(npid, Signals.SigKill);
            var end = await tenant.WaitAsync(npid).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(Signals.SigKill, end.Signal);
        }
    }
}
