using System.Net;
using System.Net.Http.Json;
using System.Text;
using Nefele.Client;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>
/// The error codes a real node gives a C program, provoked for real: each call returns the errno
/// native/include/nefele.h documents for the code (Linux's numbers, written here independently of
/// the header), and nefele_last_error() names the code once.
/// </summary>
[Collection(CApiNode.Name)]
public sealed class CApiErrnoTests(NodeFixture fixture) : IDisposable
{
    // Linux errno values (asm-generic/errno-base.h, errno.h).
    private const int EPERM = 1, ENOENT = 2, ESRCH = 3, EINVAL = 22, ENOSPC = 28, EDQUOT = 122;

    private const string Program = """
        #include <nefele.h>
        #include <stdio.h>
        #include <string.h>

        static void report(const char *what, int rc) {
            printf("%s rc=%d error=%s\n", what, rc, rc < 0 ? nefele_last_error() : "");
        }

        int main(int argc, char **argv) {
            const char *mode = argc > 1 ? argv[1] : "codes";
            npid_t npid;
            if (strcmp(mode, "self") == 0) { report("self", nefele_self(&npid)); return 0; }
            if (strcmp(mode, "spawn") == 0) { report("spawn", nefele_spawn("/bin/true", NULL, NULL, &npid)); return 0; }

            npid_t unknown;
            strcpy(unknown.id, "0000000000000");
            report("npid_not_found", nefele_kill(15, &unknown));

            npid_t ended;
            nefele_exit ex;
            if (nefele_spawn("/bin/true", NULL, NULL, &ended) < 0 || nefele_monitor(&ended, &ex) < 0) {
                printf("setup failed: %s\n", nefele_last_error());
                return 1;
            }
            report("not_running", nefele_kill(15, &ended));

            report("program_not_found", nefele_spawn("/nonexistent/program", NULL, NULL, &npid));
            report("program_not_found_in_path", nefele_spawn("no-such-program-anywhere", NULL, NULL, &npid));

            nefele_spawn_opts huge = { .memory_bytes = 900LL << 30 };
            report("spawn_rejected", nefele_spawn("/bin/true", NULL, &huge, &npid));

            const char *bogus[] = { "bogus-selector", NULL };
            nefele_spawn_opts bad = { .affinity = bogus };
            report("bad_request", nefele_spawn("/bin/true", NULL, &bad, &npid));
            return 0;
        }
        """;

    private readonly string _dir = TestDirectory.Create("nefele-capi-errno-");

    private NodeUnderTest Node => fixture.Node;

    [Fact]
    public async Task Codes_a_node_sends_reach_a_C_program_as_their_documented_errno()
    {
        var binary = await LibnefeleProgram.CompileAsync(_dir, "errno", Program);
        var tenant = await Node.SdkAsync("capi-errno");
        var npid = await tenant.SpawnAsync(new ProcessSpec { Path = binary });
        var end = await tenant.WaitAsync(npid).WaitAsync(Cleanup.Wait);
        var output = await ReadAllAsync(tenant, npid);
        Assert.True(end.ExitCode == 0, output);

        AssertCall(output, "npid_not_found", ESRCH, "npid_not_found: no process 0000000000000");
        AssertCall(output, "not_running", ESRCH, "not_running: ");
        AssertCall(output, "program_not_found", ENOENT, "program_not_found: spawn rejected: /nonexistent/program: no such file");
        AssertCall(output, "program_not_found_in_path", ENOENT, "program_not_found: spawn rejected: no-such-program-anywhere: no such program in PATH");
        AssertCall(output, "spawn_rejected", ENOSPC, "spawn_rejected: not enough memory: 900 GiB asked");
        AssertCall(output, "bad_request", EINVAL, "bad_request: ");
    }

    [Fact]
    public async Task A_program_that_is_no_Nefele_process_gets_EPERM_from_hostd()
    {
        var binary = await LibnefeleProgram.CompileAsync(_dir, "outsider", Program);

        // Started by the test, not by hostd: it reaches the api socket but is nobody's process.
        var (code, stdout, stderr) = await NodeUnderTest.RunAsync(binary, ["self"],
            new Dictionary<string, string?> { ["NEFELE_SOCKET"] = Node.ApiSocket }, TimeSpan.FromSeconds(30));

        Assert.True(code == 0, stderr);
        AssertCall(stdout, "self", EPERM, "not_a_nefele_process: pid ");
    }

    [Fact]
    public async Task A_spawn_over_the_tenants_quota_is_EDQUOT()
    {
        var binary = await LibnefeleProgram.CompileAsync(_dir, "quota", Program);
        const string Tenant = "capi-errno-quota";
        var tenant = await Node.SdkAsync(Tenant);
        using (var set = await Node.Http.PutAsJsonAsync($"/v1/tenants/{Tenant}/quotas", new { processes = 1 }).WaitAsync(Cleanup.Wait))
        {
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }

        // The program is the tenant's one process: its own spawn would be the second.
        var npid = await tenant.SpawnAsync(new ProcessSpec { Path = binary, Args = ["spawn"] });
        await tenant.WaitAsync(npid).WaitAsync(Cleanup.Wait);
        AssertCall(await ReadAllAsync(tenant, npid), "spawn", EDQUOT, "quota_exceeded: ");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static void AssertCall(string output, string label, int errno, string errorStart)
    {
        var line = output.Split('\n').SingleOrDefault(l => l.StartsWith(label + " rc=", StringComparison.Ordinal));
        Assert.True(line is not null, $"no line for {label} in:\n{output}");
        Assert.StartsWith($"{label} rc={-errno} error={errorStart}", line, StringComparison.Ordinal);
    }

    private static async Task<string> ReadAllAsync(Client.NefeleTenant tenant, string npid)
    {
        var text = new StringBuilder();
        await foreach (var chunk in tenant.LogsAsync(npid, follow: false))
        {
            text.Append(Encoding.UTF8.GetString(chunk));
        }

        return text.ToString();
    }
}
