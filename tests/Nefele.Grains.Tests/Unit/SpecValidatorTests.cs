using Nefele.Client;
using Nefele.Errors;
using Nefele.Placement;
using Nefele.Validation;
using Nefele.Processes;

namespace Nefele.Grains.Tests.Unit;

public class SpecValidatorTests
{
    private static readonly ProcessSpec Good = new()
    {
        Path = "/bin/sleep",
        Args = ["10"],
        CpuMillis = 500,
        MemoryBytes = 64L << 20,
        Env = new Dictionary<string, string> { ["HOME"] = "/tmp", ["_X1"] = "y" },
        Cwd = "/tmp",
        Name = "worker-1.a_b",
    };

    private static NefeleException Rejects(SpawnRequest request, int maxTasks = 100)
    {
        var e = Assert.Throws<NefeleException>(() => SpecValidator.Validate(request, maxTasks));
        Assert.Equal(ErrorCodes.BadRequest, e.Code);
        return e;
    }

    private static NefeleException Rejects(ProcessSpec spec) => Rejects(new SpawnRequest { Tasks = [spec] });

    [Fact]
    public void Good_spec_passes()
    {
        SpecValidator.Validate(new SpawnRequest { Tasks = [Good], Count = 3 }, 100);
        SpecValidator.Validate(new SpawnRequest { Tasks = [Good, Good with { Path = "/bin/true" }] }, 100);
        SpecValidator.Validate(new SpawnRequest { Tasks = [new ProcessSpec { Path = "/bin/true" }] }, 1);
    }

    [Fact]
    public void Rlimits_are_the_known_ones_with_sensible_values()
    {
        SpecValidator.Validate(new SpawnRequest { Tasks = [Good with { Rlimits = new Dictionary<string, long> { ["nofile"] = 256, ["nproc"] = 64, ["core"] = 0 } }] }, 1);
        Assert.Contains("rlimit 'stack' is not one Nefele sets (known: core, nofile, nproc)",
            Rejects(Good with { Rlimits = new Dictionary<string, long> { ["stack"] = 1 } }).Message, StringComparison.Ordinal);
        Assert.Contains("rlimit nofile 0 must be at least 1",
            Rejects(Good with { Rlimits = new Dictionary<string, long> { ["nofile"] = 0 } }).Message, StringComparison.Ordinal);
        Assert.Contains("rlimit core -1 must be 0 or more",
            Rejects(Good with { Rlimits = new Dictionary<string, long> { ["core"] = -1 } }).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Relative_path_is_rejected() =>
        Assert.Contains("path bin/sleep is not absolute", Rejects(Good with { Path = "bin/sleep" }).Message, StringComparison.Ordinal);

    [Theory]
    [InlineData("sleep")]
    [InlineData("my-tool.v2")]
    public void Program_name_without_a_slash_is_accepted_for_a_PATH_lookup(string name) =>
        SpecValidator.Validate(new SpawnRequest { Tasks = [Good with { Path = name }] });

    [Theory]
    [InlineData(".")]
    [InlineData("..")]
    public void Dot_names_are_not_program_names(string name) =>
        Assert.Contains($"program name {name} is not a file name", Rejects(Good with { Path = name }).Message, StringComparison.Ordinal);

    [Fact]
    public void Program_name_longer_than_a_file_name_is_rejected() =>
        Assert.Contains("is not a file name (at most 255 bytes", Rejects(Good with { Path = new string('p', 256) }).Message, StringComparison.Ordinal);

    [Fact]
    public void Empty_path_is_rejected() =>
        Assert.Contains("path is empty", Rejects(Good with { Path = string.Empty }).Message, StringComparison.Ordinal);

    [Fact]
    public void Nul_in_args_is_rejected() =>
        Assert.Contains("NUL", Rejects(Good with { Args = ["a\0b"] }).Message, StringComparison.Ordinal);

    [Fact]
    public void Negative_cpu_is_rejected()
    {
        var message = Rejects(Good with { CpuMillis = -1 }).Message;
        Assert.Contains("cpu -1m is negative", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Negative_memory_is_rejected() =>
        Assert.Contains("memory -5 bytes is negative", Rejects(Good with { MemoryBytes = -5 }).Message, StringComparison.Ordinal);

    [Fact]
    public void Memory_below_one_mebibyte_is_rejected()
    {
        var message = Rejects(Good with { MemoryBytes = (1 << 20) - 1 }).Message;
        Assert.Contains("memory", message, StringComparison.Ordinal);
        Assert.Contains("1 MiB", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Exactly_one_mebibyte_is_allowed() =>
        SpecValidator.Validate(new SpawnRequest { Tasks = [Good with { MemoryBytes = 1 << 20 }] }, 1);

    [Fact]
    public void Relative_cwd_is_rejected() =>
        Assert.Contains("cwd tmp is not absolute", Rejects(Good with { Cwd = "tmp" }).Message, StringComparison.Ordinal);

    [Fact]
    public void Reserved_env_is_rejected()
    {
        var message = Rejects(Good with { Env = new Dictionary<string, string> { ["NEFELE_X"] = "1" } }).Message;
        Assert.Contains("env NEFELE_X is reserved", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1ABC")]
    [InlineData("A-B")]
    [InlineData("A=B")]
    [InlineData("")]
    public void Bad_env_name_is_rejected(string name)
    {
        var message = Rejects(Good with { Env = new Dictionary<string, string> { [name] = "1" } }).Message;
        Assert.Contains($"env name '{name}'", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bad name")]
    [InlineData("-leading-dash")]
    [InlineData("")]
    [InlineData("a/b")]
    public void Bad_name_is_rejected(string name) =>
        Assert.Contains($"name '{name}'", Rejects(Good with { Name = name }).Message, StringComparison.Ordinal);

    [Fact]
    public void Name_longer_than_64_is_rejected() =>
        Assert.Contains("name", Rejects(Good with { Name = new string('a', 65) }).Message, StringComparison.Ordinal);

    [Fact]
    public void No_tasks_is_rejected() =>
        Assert.Contains("no tasks", Rejects(new SpawnRequest { Tasks = [] }).Message, StringComparison.Ordinal);

    [Fact]
    public void Count_zero_is_rejected() =>
        Assert.Contains("count 0", Rejects(new SpawnRequest { Tasks = [Good], Count = 0 }).Message, StringComparison.Ordinal);

    [Fact]
    public void Count_with_several_tasks_is_rejected() =>
        Assert.Contains("count applies to one task", Rejects(new SpawnRequest { Tasks = [Good, Good], Count = 2 }).Message, StringComparison.Ordinal);

    [Fact]
    public void Too_many_tasks_is_rejected()
    {
        var message = Rejects(new SpawnRequest { Tasks = [Good], Count = 11 }, maxTasks: 10).Message;
        Assert.Contains("11 tasks asked, at most 10", message, StringComparison.Ordinal);
        Rejects(new SpawnRequest { Tasks = [Good, Good, Good] }, maxTasks: 2);
    }

    [Fact]
    public void Error_in_one_of_several_tasks_names_the_task() =>
        Assert.Contains("task 1: cpu", Rejects(new SpawnRequest { Tasks = [Good, Good with { CpuMillis = -1 }] }).Message, StringComparison.Ordinal);
}
