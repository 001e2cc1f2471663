using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Nefele.Client;
using Nefele.Errors;
using Nefele.Processes;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>Spawns that cannot work fail with a stable code and a sentence, and leave nothing behind.</summary>
public sealed class SpawnRejectionTests : IClassFixture<NodeFixture>, IDisposable
{
    // Files made here with the mode each case needs, rather than trusting a system file's mode.
    private const string Files = "/tmp/nefele-e2e-rejections";
    private const string PlainFile = Files + "/plain-text";
    private const string TextMarkedExecutable = Files + "/text-marked-executable";

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private readonly NodeFixture fixture;

    public SpawnRejectionTests(NodeFixture fixture)
    {
        this.fixture = fixture;
        Directory.CreateDirectory(Files);
        File.SetUnixFileMode(Files, TestDirectory.OpenToAll & ~(UnixFileMode.GroupWrite | UnixFileMode.OtherWrite));
        File.WriteAllText(PlainFile, "not a program\n");
        File.SetUnixFileMode(PlainFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        File.WriteAllText(TextMarkedExecutable, "not a program either\n");
        File.SetUnixFileMode(TextMarkedExecutable, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
    }

    private NodeUnderTest Node => fixture.Node;

    public void Dispose() => Directory.Delete(Files, recursive: true);

    // The sentence each door must give: what was wrong, and what was allowed or free. The memory
    // one names the free memory of this machine, which the test cannot know, so it is a pattern.
    private const string NoSuchFile = "spawn rejected: /nonexistent/program: no such file";
    private const string NotExecutable = "spawn rejected: " + PlainFile + ": permission denied: not executable";
    private const string NotAProgram = "spawn rejected: " + TextMarkedExecutable + ": exec format error: not a program this machine can run";
    private const string NegativeCpu = "spawn rejected: cpu -1m is negative (allowed: 0 for best effort, or millicores > 0)";
    private const string TooMuchMemory = @"^spawn rejected: not enough memory: 900 GiB asked, [0-9.]+ [KMG]?i?B free of [0-9.]+ [KMG]?i?B on node (?<node>\S+)$";

    private const string NotInPath = "spawn rejected: no-such-program-anywhere: no such program in PATH (/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin) on this node";
    private const string RelativeWithSlash = "spawn rejected: path ./bin/true is not absolute (give an absolute path, or a name without '/' to look up in PATH)";

    public static TheoryData<string, long, long, string, string> Rejections => new()
    {
        // path, cpu millis, memory bytes, expected code, expected message (a pattern when it starts with ^)
        { "/nonexistent/program", 0, 0, ErrorCodes.ProgramNotFound, NoSuchFile },
        { PlainFile, 0, 0, ErrorCodes.SpawnRejected, NotExecutable },
        { TextMarkedExecutable, 0, 0, ErrorCodes.SpawnRejected, NotAProgram },
        { "/bin/true", -1, 0, ErrorCodes.BadRequest, NegativeCpu },
        { "/bin/true", 0, 900L * 1024 * 1024 * 1024, ErrorCodes.SpawnRejected, TooMuchMemory },
        { "no-such-program-anywhere", 0, 0, ErrorCodes.ProgramNotFound, NotInPath },
        { "./bin/true", 0, 0, ErrorCodes.BadRequest, RelativeWithSlash },
    };

    [Fact]
    public async Task Program_named_without_a_slash_is_found_in_the_process_PATH_as_execvp_does()
    {
        var tenant = await Node.SdkAsync("rejections");
        var npid = await tenant.SpawnAsync(new ProcessSpec { Path = "sh", Args = ["-c", "exit 7"] }).WaitAsync(Bound);

        var end = await tenant.WaitAsync(npid).WaitAsync(Bound);

        Assert.Equal(ProcessState.Exited, end.State);
        Assert.Equal(7, end.ExitCode);
    }

    [Theory]
    [MemberData(nameof(Rejections))]
    public async Task Impossible_spawn_is_rejected_with_a_code_and_leaves_no_process(string path, long cpu, long memory, string code, string message)
    {
        var tenant = await Node.SdkAsync("rejections");
        var before = (await tenant.PsAsync()).Count;
        var spec = new ProcessSpec { Path = path, CpuMillis = cpu, MemoryBytes = memory };

        var e = await Assert.ThrowsAsync<NefeleException>(() => tenant.SpawnAsync(spec).WaitAsync(Bound));

        Assert.Equal(code, e.Code);
        AssertMessage(message, e.Message);
        Assert.Equal(before, (await tenant.PsAsync()).Count);
    }

    [Theory]
    [InlineData("""{"tasks":[{"path":"/nonexistent/program"}]}""", 422, ErrorCodes.ProgramNotFound, NoSuchFile)]
    [InlineData("""{"tasks":[{"path":"/tmp/nefele-e2e-rejections/plain-text"}]}""", 422, ErrorCodes.SpawnRejected, NotExecutable)]
    [InlineData("""{"tasks":[{"path":"/tmp/nefele-e2e-rejections/text-marked-executable"}]}""", 422, ErrorCodes.SpawnRejected, NotAProgram)]
    [InlineData("""{"tasks":[{"path":"/bin/true","cpuMillis":-1}]}""", 400, ErrorCodes.BadRequest, NegativeCpu)]
    [InlineData("""{"tasks":[{"path":"/bin/true","memoryBytes":966367641600}]}""", 422, ErrorCodes.SpawnRejected, TooMuchMemory)]
    [InlineData("""{"tasks":[{"path":"/bin/true"}""", 400, ErrorCodes.InvalidJson, "^invalid JSON body: malformed JSON at line 1, byte [0-9]+: .+$")]
    [InlineData("""not json at all""", 400, ErrorCodes.InvalidJson, "^invalid JSON body: malformed JSON at line 1, byte [0-9]+: .+$")]
    public async Task Rejected_spawn_over_REST_is_problem_details_with_the_code(string body, int status, string code, string message)
    {
        await Node.SdkAsync("rejections-rest");
        var before = await RestPsCountAsync("rejections-rest");
        using var content = new StringContent(body, Encoding.UTF8, "application/json");

        using var response = await Node.Http.PostAsync("/v1/tenants/rejections-rest/spawn", content).WaitAsync(Bound);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(code, problem.RootElement.GetProperty("code").GetString());
        Assert.Equal(status, problem.RootElement.GetProperty("status").GetInt32());
        AssertMessage(message, problem.RootElement.GetProperty("detail").GetString());
        Assert.Equal(before, await RestPsCountAsync("rejections-rest"));
    }

    private void AssertMessage(string expected, string? actual)
    {
        Assert.NotNull(actual);
        if (!expected.StartsWith('^'))
        {
            Assert.Equal(expected, actual);
            return;
        }

        var match = Regex.Match(actual, expected);
        Assert.True(match.Success, $"\"{actual}\" does not match {expected}");
        if (match.Groups["node"].Success)
        {
            Assert.Equal(Node.Name, match.Groups["node"].Value);
        }
    }

    [Fact]
    public async Task Unknown_npid_over_REST_is_404_npid_not_found()
    {
        using var response = await Node.Http.GetAsync("/v1/tenants/default/processes/0000000000000").WaitAsync(Bound);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(ErrorCodes.NpidNotFound, problem.RootElement.GetProperty("code").GetString());
    }

    private async Task<int> RestPsCountAsync(string tenant)
    {
        using var ps = JsonDocument.Parse(await Node.Http.GetStringAsync($"/v1/tenants/{tenant}/processes").WaitAsync(Bound));
        return ps.RootElement.GetProperty("processes").GetArrayLength();
    }
}
