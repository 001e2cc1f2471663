using Nefele.Client;
using Nefele.Errors;
using Nefele.Placement;
using Nefele.Processes;
using Nefele.Validation;

namespace Nefele.Grains.Tests.Unit;

/// <summary>The documented limits (src/Nefele.Abstractions/README.md), checked at admission.</summary>
public class LimitsTests
{
    private static readonly ProcessSpec Echo = new() { Path = "/bin/echo" };

    private static string Refused(ProcessSpec spec) => Refused(new SpawnRequest { Tasks = [spec] });

    private static string Refused(SpawnRequest request)
    {
        var e = Assert.Throws<NefeleException>(() => SpecValidator.Validate(request));
        Assert.Equal(ErrorCodes.BadRequest, e.Code);
        return e.Message;
    }

    [Fact]
    public void Four_thousand_and_ninety_six_args_pass_and_one_more_is_refused()
    {
        SpecValidator.Validate(new SpawnRequest { Tasks = [Echo with { Args = Enumerable.Repeat("x", 4096).ToArray() }] });
        Assert.Contains("4097 args given (at most 4096)", Refused(Echo with { Args = Enumerable.Repeat("x", 4097).ToArray() }), StringComparison.Ordinal);
    }

    [Fact]
    public void Command_line_over_256_KiB_is_refused()
    {
        // "/bin/echo" is 9 bytes + NUL; one argument of n bytes + NUL: the total is 11 + n.
        SpecValidator.Validate(new SpawnRequest { Tasks = [Echo with { Args = [new string('a', (256 * 1024) - 11)] }] });
        var message = Refused(Echo with { Args = [new string('a', (256 * 1024) - 10)] });
        Assert.Contains($"take {(256 * 1024) + 1} bytes (at most {256 * 1024})", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Multibyte_args_count_in_utf8_bytes()
    {
        // 'é' is two bytes in UTF-8: half as many characters reach the same limit.
        Refused(Echo with { Args = [new string('é', 128 * 1024)] });
    }

    [Fact]
    public void More_than_1024_env_variables_are_refused()
    {
        var env = Enumerable.Range(0, 1025).ToDictionary(i => $"V{i}", _ => "1");
        Assert.Contains("1025 env variables given (at most 1024)", Refused(Echo with { Env = env }), StringComparison.Ordinal);
    }

    [Fact]
    public void Env_over_256_KiB_is_refused()
    {
        // "BIG=" + value + NUL: 5 + n bytes.
        SpecValidator.Validate(new SpawnRequest { Tasks = [Echo with { Env = new Dictionary<string, string> { ["BIG"] = new('v', (256 * 1024) - 5) } }] });
        var message = Refused(Echo with { Env = new Dictionary<string, string> { ["BIG"] = new('v', (256 * 1024) - 4) } });
        Assert.Contains("env takes 262145 bytes (at most 262144)", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Path_longer_than_path_max_is_refused()
    {
        var message = Refused(Echo with { Path = "/" + new string('p', 4095) });
        Assert.Contains("path is 4096 bytes long (at most 4095)", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Many_tasks_that_each_fit_are_refused_together_over_one_MiB()
    {
        // 200 tasks of 100 KB each: every task fits, the request (20 MB) does not.
        var big = Echo with { Args = [new string('a', 100_000)] };
        var tasks = Enumerable.Range(0, 200).Select(i => big with { Name = $"t{i}" }).ToArray();
        Assert.Contains("at most 1048576 per request", Refused(new SpawnRequest { Tasks = tasks }), StringComparison.Ordinal);
    }

    [Fact]
    public void Copies_of_one_task_count_once_toward_the_request_size()
    {
        var big = Echo with { Args = [new string('a', 200_000)] };
        SpecValidator.Validate(new SpawnRequest { Tasks = [big], Count = 1000 });
    }

    [Fact]
    public void More_than_ten_thousand_tasks_are_refused_by_default()
    {
        SpecValidator.Validate(new SpawnRequest { Tasks = [Echo], Count = 10_000 });
        Assert.Contains("10001 tasks asked, at most 10000", Refused(new SpawnRequest { Tasks = [Echo], Count = 10_001 }), StringComparison.Ordinal);
    }

    [Fact]
    public void Parent_that_is_not_an_npid_is_refused() =>
        Assert.Contains("parent 'x/y' is not an NPID", Refused(new SpawnRequest { Tasks = [Echo], Parent = "x/y" }), StringComparison.Ordinal);

    [Fact]
    public void Null_lists_are_refused_not_thrown_as_null_references()
    {
        Refused(Echo with { Args = null! });
        Refused(Echo with { Env = null! });
        Refused(Echo with { Affinity = null! });
    }
}
