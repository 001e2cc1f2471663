using Nefele.HostAgent.Tests;
using Nefele.Protocol.V1;

namespace Nefele.Systemd.Tests;

/// <summary>A real hostd with <c>--engine systemd</c>: launches handshake through the shim and report as with the native engine.</summary>
public sealed class SystemdHostdTests
{
    private static ProcessSpec Spec(string path, params string[] args)
    {
        var spec = new ProcessSpec { Path = path };
        spec.Args.AddRange(args);
        return spec;
    }

    private static string NewNpid() => "p" + Guid.NewGuid().ToString("N")[..12];

    [SkippableFact]
    public async Task A_process_started_as_a_unit_handshakes_and_its_output_and_exit_are_reported()
    {
        await using var hostd = await HostdInstance.StartAsync("--engine", "systemd", "--systemd-bus", Testbed.Bus);
        await using var silo = await hostd.AttachAsync();
        var npid = NewNpid();

        // Started comes only after the shim's hello, whose pid (SO_PEERCRED) must be the launch's.
        var started = await silo.LaunchStartedAsync(npid, Spec("/bin/sh", "-c", "echo hi; echo oops >&2; exit 3"));
        Assert.True(started.Pid > 0);

        var exit = await silo.NextExitAsync(npid);
        Assert.Equal(ProcessState.Exited, exit.End.State);
        Assert.Equal(3, exit.End.ExitCode);
        Assert.Equal(started.Pid, exit.Pid);
        // The unit's stdout and stderr are two sockets: kept apart in the log.
        Assert.Equal("hi\n", await silo.AllLogsAsync(npid, LogStream.Stdout));
        Assert.Equal("oops\n", await silo.AllLogsAsync(npid, LogStream.Stderr));
        Assert.Equal(ControlEvent.BodyOneofCase.Ok, (await silo.AckAsync(npid)).BodyCase);
    }

    [SkippableFact]
    public async Task Kill_through_hostd_ends_the_unit_with_the_signal()
    {
        await using var hostd = await HostdInstance.StartAsync("--engine", "systemd", "--systemd-bus", Testbed.Bus);
        await using var silo = await hostd.AttachAsync();
        var npid = NewNpid();
        var started = await silo.LaunchStartedAsync(npid, Spec("/bin/sleep", "1000"));
        Assert.True(Directory.Exists($"/proc/{started.Pid}"));

        Assert.Equal(ControlEvent.BodyOneofCase.Ok, (await silo.SignalAsync(npid, 9)).BodyCase);
        var exit = await silo.NextExitAsync(npid);
        Assert.Equal(9, exit.End.Signal);
        await silo.AckAsync(npid);
    }
}
