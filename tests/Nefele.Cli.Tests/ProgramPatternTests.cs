using Nefele.Cli.Parsing;

namespace Nefele.Cli.Tests;

public sealed class ProgramPatternTests
{
    [Theory]
    [InlineData("/usr/bin/worker --threads 4", "worker")]
    [InlineData("worker", "worker")]
    [InlineData("/opt/app/bin/svc", "svc")]
    [InlineData("./rel/prog a/b", "prog")]
    public void Program_name_is_the_basename_of_the_first_word(string command, string name) =>
        Assert.Equal(name, ProgramPattern.ProgramName(command));

    [Theory]
    [InlineData("/usr/bin/worker 1", "work", true)]
    [InlineData("/usr/bin/worker 1", "work*", true)]
    [InlineData("/usr/bin/worker 1", "worker", true)]
    [InlineData("/usr/bin/worker 1", "orker", false)]
    [InlineData("/usr/bin/worker 1", "usr", false)]
    [InlineData("/bin/sleep worker", "work", false)]
    [InlineData("/bin/sleep 5", "Sleep", false)]
    public void Matches_programs_whose_name_starts_with_the_pattern(string command, string pattern, bool matches) =>
        Assert.Equal(matches, ProgramPattern.Matches(command, pattern));
}
