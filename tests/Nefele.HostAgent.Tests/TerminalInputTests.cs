using Google.Protobuf;
using Nefele.Protocol.V1;
using ErrorCodes = Nefele.Client.ErrorCodes;

namespace Nefele.HostAgent.Tests;

/// <summary>TerminalInput on the control channel: typing into a tty process and resizing its terminal, and the refusals.</summary>
public sealed class TerminalInputTests : AttachedHostdTests
{
    private static ProcessSpec Spec(bool tty, string path, params string[] args)
    {
        var spec = new ProcessSpec { Path = path, Tty = tty };
        spec.Args.AddRange(args);
        return spec;
    }

    private static string NewNpid() => "p" + Guid.NewGuid().ToString("N")[..12];

    private Task<ControlEvent> TypeAsync(string npid, string text, uint rows = 0, uint cols = 0) =>
        Silo.RequestAsync(new ControlRequest { Terminal = new TerminalInput { Npid = npid, Data = ByteString.CopyFromUtf8(text), Rows = rows, Cols = cols } });

    [Fact]
    public async Task Typed_input_and_a_window_size_reach_a_tty_process_and_what_it_shows_is_its_log()
    {
        var npid = NewNpid();
        await Silo.LaunchStartedAsync(npid, Spec(true, "/bin/sh", "-c", "read line; stty size; echo \"got:$line\""));

        var typed = await TypeAsync(npid, "hello\n", rows: 33, cols: 77);
        Assert.True(typed.BodyCase == ControlEvent.BodyOneofCase.Ok, typed.ToString());

        var exit = await Silo.NextExitAsync(npid);
        Assert.Equal(0, exit.End.ExitCode);
        var shown = await Silo.AllLogsAsync(npid);
        Assert.Contains("33 77", shown, StringComparison.Ordinal);
        Assert.Contains("got:hello", shown, StringComparison.Ordinal);
        await Silo.AckAsync(npid);
    }

    [Fact]
    public async Task Input_is_refused_for_an_unknown_npid_a_process_without_terminal_a_bad_size_and_an_ended_process()
    {
        Assert.Equal(ErrorCodes.NpidNotFound, (await TypeAsync(NewNpid(), "x")).Error?.Code);

        var plain = NewNpid();
        await Silo.LaunchStartedAsync(plain, Spec(false, "/bin/sleep", "100"));
        var noTerminal = await TypeAsync(plain, "x");
        Assert.Equal(ErrorCodes.BadRequest, noTerminal.Error?.Code);
        Assert.Contains("no terminal", noTerminal.Error!.Message, StringComparison.Ordinal);
        await Silo.SignalAsync(plain, 9);
        await Silo.NextExitAsync(plain);
        await Silo.AckAsync(plain);

        var tty = NewNpid();
        await Silo.LaunchStartedAsync(tty, Spec(true, "/bin/sh", "-c", "read line"));
        var badSize = await TypeAsync(tty, string.Empty, rows: 5, cols: 0);
        Assert.Equal(ErrorCodes.BadRequest, badSize.Error?.Code);
        Assert.Equal(ControlEvent.BodyOneofCase.Ok, (await TypeAsync(tty, "done\n")).BodyCase);
        await Silo.NextExitAsync(tty);
        Assert.Equal(ErrorCodes.NotRunning, (await TypeAsync(tty, "late\n")).Error?.Code);
        await Silo.AckAsync(tty);
    }
}
