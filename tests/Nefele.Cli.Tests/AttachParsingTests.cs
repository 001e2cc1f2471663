using Nefele.Api;
using Nefele.Cli.Commands;
using Nefele.Cli.Parsing;
using Nefele.Cli.Terminal;
using Nefele.Client;

namespace Nefele.Cli.Tests;

/// <summary>nef attach's command line, its detach keys, and the close reasons it reads an exit status from.</summary>
public sealed class AttachParsingTests
{
    private const string A = "0123456789abc";

    [Fact]
    public void Attach_takes_one_npid_read_only_and_detach_keys()
    {
        var attach = Assert.IsType<AttachCommand>(CommandLineParser.Parse(["attach", "--read-only", "--detach-keys", "ctrl-a,d", A]).Command);
        Assert.Equal(A, attach.Npid);
        Assert.True(attach.ReadOnly);
        Assert.Equal([(byte)1, (byte)'d'], attach.DetachKeys.Sequence);

        var plain = Assert.IsType<AttachCommand>(CommandLineParser.Parse(["attach", A]).Command);
        Assert.False(plain.ReadOnly);
        Assert.Equal([(byte)0x10, (byte)0x11], plain.DetachKeys.Sequence);
    }

    [Theory]
    [InlineData("missing NPID", "attach")]
    [InlineData("takes one NPID", "attach", A, A)]
    [InlineData("'ctrl-1' is not a detach key", "attach", "--detach-keys", "ctrl-1", A)]
    [InlineData("'' is not a detach key", "attach", "--detach-keys", "ctrl-p,", A)]
    public void Attach_refuses_bad_usage_naming_what_is_wrong(string expected, params string[] args)
    {
        var error = Assert.Throws<UsageException>(() => CommandLineParser.Parse(args));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Detach_keys_pass_a_partial_match_through_and_end_on_the_whole_sequence()
    {
        var keys = DetachKeys.Parse(DetachKeys.Default);
        var forward = new List<byte>();

        // ctrl-p alone is held: it may be the start of the sequence.
        Assert.False(keys.Feed([0x10], forward));
        Assert.Empty(forward);

        // Not followed by ctrl-q: both go through, in order.
        Assert.False(keys.Feed([(byte)'x'], forward));
        Assert.Equal([0x10, (byte)'x'], forward);

        // ctrl-p ctrl-p ctrl-q: the first ctrl-p goes through, the last two detach.
        forward.Clear();
        Assert.True(keys.Feed([(byte)'a', 0x10, 0x10, 0x11, (byte)'b'], forward));
        Assert.Equal([(byte)'a', 0x10], forward);
    }

    [Theory]
    [InlineData("exited 0", 0)]
    [InlineData("exited 7", 7)]
    [InlineData("killed by SIGKILL", 137)]
    [InlineData("killed by SIGSEGV (core dumped)", 139)]
    [InlineData("failed to start: no such file", 1)]
    public void A_close_reason_gives_the_exit_status_nef_exits_with(string reason, int status) =>
        Assert.Equal(status, TerminalAttach.ExitStatus(reason));

    [Fact]
    public void A_close_reason_that_names_no_end_gives_no_status() =>
        Assert.Null(TerminalAttach.ExitStatus("detached"));

    [Fact]
    public void A_long_close_reason_is_cut_to_what_a_close_frame_carries()
    {
        var end = new ProcessEnd { State = ProcessState.FailedToStart, Reason = new string('é', 200) };
        var reason = TerminalAttach.CloseReason(end);
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(reason) <= 123, reason);
        Assert.StartsWith("failed to start: ", reason, StringComparison.Ordinal);
        Assert.EndsWith("...", reason, StringComparison.Ordinal);

        var killed = new ProcessEnd { State = ProcessState.Exited, Signal = 9 };
        Assert.Equal("killed by SIGKILL", TerminalAttach.CloseReason(killed));
        Assert.Equal(137, TerminalAttach.ExitStatus(TerminalAttach.CloseReason(killed)));
    }
}
