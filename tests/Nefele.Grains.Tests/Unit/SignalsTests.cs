using Nefele.Client;
using Nefele.Processes;

namespace Nefele.Grains.Tests.Unit;

public class SignalsTests
{
    [Theory]
    [InlineData("9", 9)]
    [InlineData("KILL", 9)]
    [InlineData("sigkill", 9)]
    [InlineData("SIGTERM", 15)]
    [InlineData("term", 15)]
    [InlineData("1", 1)]
    [InlineData("64", 64)]
    public void Parse_accepts_numbers_and_names_in_any_case(string text, int expected) =>
        Assert.Equal(expected, Signals.Parse(text));

    [Theory]
    [InlineData("0")]
    [InlineData("65")]
    [InlineData("-1")]
    [InlineData("FOO")]
    [InlineData("SIG")]
    [InlineData("")]
    public void Parse_refuses_what_is_not_a_signal(string text) =>
        Assert.Null(Signals.Parse(text));

    [Theory]
    [InlineData(9, "SIGKILL")]
    [InlineData(15, "SIGTERM")]
    [InlineData(1, "SIGHUP")]
    [InlineData(31, "SIGSYS")]
    [InlineData(34, "SIGRTMIN+0")]
    [InlineData(64, "SIGRTMIN+30")]
    [InlineData(0, "signal 0")]
    [InlineData(65, "signal 65")]
    public void Name_prints_the_conventional_name(int signal, string expected) =>
        Assert.Equal(expected, Signals.Name(signal));

    [Fact]
    public void Every_named_signal_parses_back_to_itself()
    {
        for (var n = 1; n <= 31; n++)
        {
            Assert.Equal(n, Signals.Parse(Signals.Name(n)));
        }
    }
}
