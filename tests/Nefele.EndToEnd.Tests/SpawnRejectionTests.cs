using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Nefele.Client;
using Nefele.Errors;
using Nefele.Processes;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>Spawns that cannot work fail with a stable code and a sentence, and leave nothing behind.</summary>
public sealed class SpawnRejectionTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private NodeUnderTest Node => fixture.Node;

    public static TheoryData<string, string, long, long, string, string> Rejections => new()
    {
        // path, arg, cpu millis, memory bytes, expected code, a word the message must contain
        { "/nonexistent/program", "", 0, 0, ErrorCodes.SpawnRejected, "/nonexistent/program" },
        { "/etc/hostname", "", 0, 0, ErrorCodes.SpawnRejected, "/etc/hostname" },
        { "/bin/true", "", -1, 0, ErrorCodes.BadRequest, "cpu" },
        { "/bin/true", "", 0, 900L * 1024 * 1024 * 1024, ErrorCodes.SpawnRejected, "memory" },
    };

    [Theory]
    [MemberData(nameof(Rejections))]
    public async Task Impossible_spawn_is_rejected_with_a_code_and_leaves_no_process(string path, string arg, long cpu, long memory, string code, string named)
    {
        var tenant = await Node.SdkAsync("rejections");
        var before = (await tenant.PsAsync()).Count;
        var spec = new ProcessSpec { Path = path, Args = arg.Length > 0 ? [arg] : [], CpuMillis = cpu, MemoryBytes = memory };

        var e = await Assert.ThrowsAsync<NefeleException>(() => tenant.SpawnAsync(spec).WaitAsync(Bound));

        Assert.Equal(code, e.Code);
        Assert.Contains(named, e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(before, (await tenant.PsAsync()).Count);
    }

    [Theory]
    [InlineData("""{"tasks":[{"path":"/nonexistent/program"}]}""", 422, ErrorCodes.SpawnRejected, "/nonexistent/program")]
    [InlineData("""{"tasks":[{"path":"/etc/hostname"}]}""", 422, ErrorCodes.SpawnRejected, "/etc/hostname")]
    [InlineData("""{"tasks":[{"path":"/bin/true","cpuMillis":-1}]}""", 400, ErrorCodes.BadRequest, "cpu")]
    [InlineData("""{"tasks":[{"path":"/bin/true","memoryBytes":966367641600}]}""", 422, ErrorCodes.SpawnRejected, "memory")]
    [InlineData("""{"tasks":[{"path":"/bin/true"}""", 400, ErrorCodes.InvalidJson, "malformed JSON")]
    [InlineData("""not json at all""", 400, ErrorCodes.InvalidJson, "malformed JSON")]
    public async Task Rejected_spawn_over_REST_is_problem_details_with_the_code(string body, int status, string code, string named)
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
        var detail = problem.RootElement.GetProperty("detail").GetString();
        Assert.False(string.IsNullOrWhiteSpace(detail));
        Assert.Contains(named, detail, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(before, await RestPsCountAsync("rejections-rest"));
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
