using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Nefele.Client;
using Nefele.Errors;
using Nefele.Processes;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>Another tenant's process cannot be seen, signalled or watched: it looks like no process at all.</summary>
public sealed class TenantIsolationTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private NodeUnderTest Node => fixture.Node;

    [Fact]
    public async Task Process_of_tenant_a_is_invisible_to_tenant_b()
    {
        var a = await Node.SdkAsync("a");
        var b = await Node.SdkAsync("b");
        var npid = await a.SpawnAsync(new ProcessSpec { Path = "/bin/sleep", Args = ["300"] });
        try
        {
            await AssertNotFound(() => b.GetAsync(npid));
            await AssertNotFound(() => b.KillAsync(npid, Signals.SigKill));
            await AssertNotFound(() => b.WaitAsync(npid));
            await AssertNotFound(async () =>
            {
                await foreach (var _ in b.MonitorAsync(npid))
                {
                }
            });
            await AssertNotFound(() => b.ReadLogsAsync(npid));
            Assert.DoesNotContain(await b.PsAsync(), i => i.Npid == npid);

            // b's kill did nothing: the process still runs, and a still sees it.
            var info = await a.GetAsync(npid);
            Assert.Equal(ProcessState.Running, info.State);
            Assert.True(Interop.IsRunning(info.Pid));
            Assert.Contains(await a.PsAsync(), i => i.Npid == npid);
        }
        finally
        {
            await Cleanup.KillAsync(a, npid);
        }
    }

    [Fact]
    public async Task Process_of_tenant_a_is_invisible_to_tenant_b_over_REST()
    {
        var a = await Node.SdkAsync("a");
        var npid = await a.SpawnAsync(new ProcessSpec { Path = "/bin/sleep", Args = ["300"] });
        try
        {
            foreach (var url in new[] { $"processes/{npid}", $"processes/{npid}/events", $"processes/{npid}/logs" })
            {
                using var get = await Node.Http.GetAsync($"/v1/tenants/b/{url}").WaitAsync(Bound);
                await AssertProblem(get, HttpStatusCode.NotFound, ErrorCodes.NpidNotFound);
            }

            using var signal = await Node.Http.PostAsJsonAsync($"/v1/tenants/b/processes/{npid}/signal", new { signal = 9 }).WaitAsync(Bound);
            await AssertProblem(signal, HttpStatusCode.NotFound, ErrorCodes.NpidNotFound);

            var ps = await Node.Http.GetStringAsync("/v1/tenants/b/processes").WaitAsync(Bound);
            Assert.DoesNotContain(npid, ps);
            Assert.Equal(ProcessState.Running, (await a.GetAsync(npid)).State);
        }
        finally
        {
            await Cleanup.KillAsync(a, npid);
        }
    }

    private static async Task AssertNotFound(Func<Task> action)
    {
        var e = await Assert.ThrowsAsync<NefeleException>(() => action().WaitAsync(Bound));
        Assert.Equal(ErrorCodes.NpidNotFound, e.Code);
    }

    private static async Task AssertProblem(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        Assert.Equal(status, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(code, problem.RootElement.GetProperty("code").GetString());
    }
}
