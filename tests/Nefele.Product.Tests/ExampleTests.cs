namespace Nefele.Product.Tests;

/// <summary>examples/csharp: the README's quick start as a program of this repository, run against a real node.</summary>
[Collection(NodeCollection.Name)]
public sealed class ExampleTests(NodeFixture fixture)
{
    [Fact]
    public async Task Example_spawns_monitors_reads_logs_and_ends_on_ctrl_c()
    {
        var dll = Path.Combine(RepoPaths.Root, "examples", "csharp", "bin", RepoPaths.Configuration, "net10.0", "nefele-example.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: build the solution");

        await QuickStart.RunAndInterruptAsync(fixture.Node, dll);
    }
}

/// <summary>The example and the README's quick start are one program.</summary>
public sealed class ExampleTextTests
{
    [Fact]
    public void Example_is_the_readmes_quick_start()
    {
        var example = File.ReadAllText(Path.Combine(RepoPaths.Root, "examples", "csharp", "Program.cs"));

        Assert.Equal(QuickStart.FromReadme(), example);
    }
}
