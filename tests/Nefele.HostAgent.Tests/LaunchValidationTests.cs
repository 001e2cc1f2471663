using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Tests;

/// <summary>hostd refuses a launch that breaks the shared rules (Nefele.Validation) before starting anything.</summary>
public sealed class LaunchValidationTests : AttachedHostdTests
{
    private static string NewNpid() => "v" + Guid.NewGuid().ToString("N")[..12];

    private async Task<Error> RefusedAsync(ProcessSpec spec, string tenant = "acme")
    {
        var npid = NewNpid();
        var reply = await Silo.LaunchAsync(npid, spec, tenant);
        Assert.Equal(LaunchReply.OutcomeOneofCase.Rejected, reply.OutcomeCase);
        Assert.Equal("spawn_rejected", reply.Rejected.Code);
        Assert.False(File.Exists(Path.Combine(Hostd.RunDirectory, "logs", npid + ".log")), "nothing was started");
        return reply.Rejected;
    }

    [Theory]
    [InlineData("a/x")]
    [InlineData("..")]
    [InlineData("a b")]
    public async Task Tenant_outside_the_tenant_name_grammar_is_refused(string tenant) =>
        Assert.Contains($"tenant '{tenant}' is not a tenant name", (await RefusedAsync(new ProcessSpec { Path = "/bin/true" }, tenant)).Message, StringComparison.Ordinal);

    [Theory]
    [InlineData("A-B")]
    [InlineData("1X")]
    public async Task Env_name_outside_the_grammar_is_refused(string name)
    {
        var spec = new ProcessSpec { Path = "/bin/true" };
        spec.Env[name] = "1";
        Assert.Contains($"env name '{name}'", (await RefusedAsync(spec)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task More_than_4096_args_are_refused()
    {
        var spec = new ProcessSpec { Path = "/bin/true" };
        spec.Args.AddRange(Enumerable.Repeat("x", 4097));
        Assert.Contains("4097 args given (at most 4096)", (await RefusedAsync(spec)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Env_over_256_KiB_is_refused()
    {
        var spec = new ProcessSpec { Path = "/bin/true" };
        spec.Env["BIG"] = new string('v', 256 * 1024);
        Assert.Contains("(at most 262144)", (await RefusedAsync(spec)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Relative_path_is_refused() =>
        Assert.Contains("the path must be absolute", (await RefusedAsync(new ProcessSpec { Path = "bin/true" })).Message, StringComparison.Ordinal);
}
