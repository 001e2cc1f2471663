using Nefele.Client;
using Nefele.Processes;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>ps lists live processes; ps -a adds those that ended recently, with how they ended.</summary>
public sealed class PsAllTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    [Fact]
    public async Task Ended_process_is_left_out_of_ps_and_listed_by_ps_all()
    {
        var tenant = await fixture.Node.SdkAsync("psall");
        var npid = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sh", Args = ["-c", "exit 3"] });
        await tenant.WaitAsync(npid).WaitAsync(Cleanup.Wait);

        Assert.DoesNotContain(await tenant.PsAsync(), p => p.Npid == npid);
        var row = Assert.Single(await tenant.PsAsync(all: true), p => p.Npid == npid);
        Assert.Equal(ProcessState.Exited, row.State);
        Assert.Equal(3, row.End!.ExitCode);

        var (code, stdout, stderr) = await fixture.Node.NefAsync("--tenant", "psall", "ps", "-a");
        Assert.True(code == 0, stderr);
        Assert.Contains(stdout.Split('\n'), line => line.StartsWith(npid, StringComparison.Ordinal) && line.Contains("Exited", StringComparison.Ordinal));
        var (_, live, _) = await fixture.Node.NefAsync("--tenant", "psall", "ps");
        Assert.DoesNotContain(npid, live, StringComparison.Ordinal);
    }
}
