using Nefele.Cli.Parsing;

namespace Nefele.Cli.Tests;

public sealed class CspawnFileTests
{
    [Fact]
    public void Tasks_are_expanded_by_count_with_units_parsed()
    {
        const string json = """
            {"tasks":[
              {"path":"/bin/sleep","args":["5"],"cpu":"250m","mem":"64Mi","env":{"K":"V"},"name":"x","cwd":"/","count":2},
              {"path":"/bin/true","cpu":1.5,"mem":1048576,"noHandshake":true}
            ]}
            """;
        var tasks = CspawnFile.Parse(json, "f.json");

        Assert.Equal(3, tasks.Count);
        Assert.Equal(tasks[0], tasks[1]);
        Assert.Equal("/bin/sleep", tasks[0].Path);
        Assert.Equal(["5"], tasks[0].Args);
        Assert.Equal(250, tasks[0].CpuMillis);
        Assert.Equal(64L * 1024 * 1024, tasks[0].MemoryBytes);
        Assert.Equal("V", tasks[0].Env["K"]);
        Assert.Equal("x", tasks[0].Name);
        Assert.Equal("/", tasks[0].Cwd);
        Assert.Equal(1500, tasks[2].CpuMillis);
        Assert.Equal(1048576, tasks[2].MemoryBytes);
        Assert.True(tasks[2].NoHandshake);
        Assert.Empty(tasks[2].Args);
    }

    [Theory]
    [InlineData("""{"tasks":[{"path":"/bin/x","cpu":"-1"}]}""", "tasks[0].cpu: '-1' is negative")]
    [InlineData("""{"tasks":[{"path":"/bin/x","mem":"lots"}]}""", "tasks[0].mem: 'lots' is not a memory amount")]
    [InlineData("""{"tasks":[{"path":"/bin/x"},{"args":[]}]}""", "tasks[1].path is missing")]
    [InlineData("""{"tasks":[{"path":"/bin/x","count":0}]}""", "tasks[0].count must be at least 1")]
    [InlineData("""{"tasks":[]}""", "no tasks")]
    [InlineData("""{"tasks":[{"path":"/bin/x","memory":"1Gi"}]}""", "memory")]
    [InlineData("""not json""", "f.json")]
    public void Bad_files_are_usage_errors_that_say_where(string json, string expected)
    {
        var e = Assert.Throws<UsageException>(() => CspawnFile.Parse(json, "f.json"));
        Assert.StartsWith("cspawn: f.json: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
