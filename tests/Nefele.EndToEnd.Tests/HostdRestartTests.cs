using Nefele.Client;
using Nefele.Processes;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>
/// hostd dies and comes back while the silo stays: the processes of the dead hostd cannot be
/// owned by the new one, so they are stopped and reported Lost — no ghost stays Running.
/// </summary>
public sealed class HostdRestartTests
{
    [Fact]
    public async Task Processes_of_a_hostd_that_died_are_stopped_and_reported_lost_when_hostd_returns()
    {
        await using var node = await NodeUnderTest.StartAsync();
        var tenant = await node.SdkAsync();
        var npid = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sleep", Args = ["300"] });
        var pid = (await tenant.GetAsync(npid)).Pid;

        await node.KillHostdAsync();
        Assert.True(Interop.IsRunning(pid), "an orphan keeps running while no hostd is there");
        node.StartHostd();

        var end = await tenant.WaitAsync(npid).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(ProcessState.Lost, end.State);
        Assert.Contains("hostd", end.Reason, StringComparison.Ordinal);
        await Eventually.Until(() => !Interop.IsRunning(pid), TimeSpan.FromSeconds(30), "the orphan was not stopped");
        Assert.DoesNotContain(await tenant.PsAsync(), p => p.Npid == npid);

        // The node works again.
        var next = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/true" });
        Assert.Equal(0, (await tenant.WaitAsync(next).WaitAsync(TimeSpan.FromSeconds(30))).ExitCode);
    }
}
