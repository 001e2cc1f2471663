using Nefele.Client;
using Nefele.Processes;

namespace Nefele.Grains.Tests.Unit;

public class ProcessEndTests
{
    [Fact]
    public void Normal_exit_is_described_by_its_code() =>
        Assert.Equal("exited 3", new ProcessEnd { State = ProcessState.Exited, ExitCode = 3 }.Describe());

    [Fact]
    public void Signal_death_names_the_signal() =>
        Assert.Equal("killed by SIGKILL", new ProcessEnd { State = ProcessState.Exited, Signal = 9 }.Describe());

    [Fact]
    public void Oom_kill_says_out_of_memory() =>
        Assert.Equal("killed by SIGKILL (out of memory)", new ProcessEnd { State = ProcessState.Exited, Signal = 9, OomKilled = true }.Describe());

    [Fact]
    public void Core_dump_is_mentioned() =>
        Assert.Equal("killed by SIGSEGV (core dumped)", new ProcessEnd { State = ProcessState.Exited, Signal = 11, CoreDumped = true }.Describe());

    [Fact]
    public void Failed_start_gives_the_reason() =>
        Assert.Equal("failed to start: r", new ProcessEnd { State = ProcessState.FailedToStart, Reason = "r" }.Describe());

    [Fact]
    public void Lost_gives_the_reason() =>
        Assert.Equal("lost: r", new ProcessEnd { State = ProcessState.Lost, Reason = "r" }.Describe());

    [Fact]
    public void Description_matches_describe()
    {
        var end = new ProcessEnd { State = ProcessState.Exited, ExitCode = 0 };
        Assert.Equal("exited 0", end.Description);
    }
}
