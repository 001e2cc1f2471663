using Nefele.Client;
using Nefele.Errors;
using Nefele.Processes;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>The silo can die and come back; hostd and the processes it runs carry on meanwhile.</summary>
public sealed class SiloRestartTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Process_keeps_running_across_a_silo_restart_and_is_listed_again()
    {
        await using var node = await NodeUnderTest.StartAsync();
        var before = await node.SdkAsync();
        var npid = await before.SpawnAsync(new ProcessSpec { Path = "/bin/sleep", Args = ["300"] });
        var pid = (await before.GetAsync(npid)).Pid;
        try
        {
            await node.KillSiloAsync();
            Assert.True(Interop.IsRunning(pid), "the process died with the silo");

            await node.StartSiloAsync();
            var tenant = await node.SdkAsync();
            var listed = await Eventually.Value(async () => (await tenant.PsAsync()).FirstOrDefault(i => i.Npid == npid), Bound, $"{npid} listed by ps after the restart");
            Assert.Equal(ProcessState.Running, listed.State);
            Assert.Equal(pid, listed.Pid);

            await tenant.KillAsync(npid, Signals.SigKill);
            var end = await tenant.WaitAsync(npid).WaitAsync(Bound);
            Assert.Equal("killed by SIGKILL", end.Describe());
            await Eventually.Until(() => !Interop.IsRunning(pid), Bound, $"pid {pid} gone");
        }
        finally
        {
            await Cleanup.KillPidAsync(pid);
        }
    }

    [Fact]
    public async Task Exit_while_the_silo_is_down_is_reported_after_the_restart()
    {
        await using var node = await NodeUnderTest.StartAsync();
        var dir = TestDirectory.Create("nefele-e2e-restart");
        var flag = Path.Combine(dir, "go");
        var before = await node.SdkAsync();
        var npid = await before.SpawnAsync(new ProcessSpec { Path = "/bin/sh", Args = ["-c", $"while [ ! -e {flag} ]; do sleep 0.05; done; exit 5"] });
        var pid = (await before.GetAsync(npid)).Pid;
        try
        {
            await node.KillSiloAsync();
            await File.WriteAllTextAsync(flag, string.Empty);
            await Eventually.Until(() => !Interop.IsRunning(pid), Bound, $"pid {pid} exits while the silo is down");

            await node.StartSiloAsync();
            var tenant = await node.SdkAsync();
            var end = await tenant.WaitAsync(npid).WaitAsync(Bound);
            Assert.Equal(ProcessState.Exited, end.State);
            Assert.Equal(5, end.ExitCode);
            Assert.Equal("exited 5", end.Describe());
        }
        finally
        {
            await Cleanup.KillPidAsync(pid);
            Directory.Delete(dir, recursive: true);
        }
    }
}
