using System.Text;
using Nefele.Client;
using Nefele.Processes;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>libnefele (the C API) used by a real program running as a Nefele process.</summary>
[Collection(CApiNode.Name)]
public sealed class CApiTests(NodeFixture fixture) : IDisposable
{
    private const string Program = """
        #include <nefele.h>
        #include <stdio.h>
        #include <string.h>

        int main(void) {
            npid_t self, child;
            nefele_exit ex;
            const char *args[] = {"-c", "echo from-child; exit 7", NULL};
            if (nefele_self(&self) < 0) { printf("self failed: %s\n", nefele_last_error()); return 10; }
            if (nefele_spawn("/bin/sh", args, NULL, &child) < 0) { printf("spawn failed: %s\n", nefele_last_error()); return 11; }
            if (nefele_monitor(&child, &ex) < 0) { printf("monitor failed: %s\n", nefele_last_error()); return 12; }
            printf("self=%s child=%s state=%d code=%d\n", self.id, child.id, ex.state, ex.exit_code);

            npid_t missing;
            strcpy(missing.id, "0000000000000");
            int rc = nefele_kill(9, &missing);
            printf("kill-unknown=%d\n", rc);

            size_t count = 0;
            nefele_proc procs[64];
            if (nefele_ps(procs, 64, &count) < 0) { printf("ps failed: %s\n", nefele_last_error()); return 13; }
            int found = 0;
            for (size_t i = 0; i < count && i < 64; i++) if (strcmp(procs[i].npid, self.id) == 0) found = 1;
            printf("ps-lists-self=%d\n", found);
            return 0;
        }
        """;

    private readonly string _dir = TestDirectory.Create("nefele-capi-");

    [Fact]
    public async Task A_C_program_spawns_monitors_kills_and_lists_through_libnefele()
    {
        var binary = await LibnefeleProgram.CompileAsync(_dir, "capi", Program);

        // Built in the tree, it loads the versioned library by its soname from native/build, as an installed program would.
        var (_, ldd, _) = await NodeUnderTest.RunAsync("ldd", [binary], timeout: TimeSpan.FromSeconds(30));
        Assert.Contains($"libnefele.so.1 => {Path.Combine(RepoPaths.Root, "native", "build", "libnefele.so.1")} ", ldd, StringComparison.Ordinal);

        var tenant = await fixture.Node.SdkAsync("capi");
        var npid = await tenant.SpawnAsync(new ProcessSpec { Path = binary });
        var end = await tenant.WaitAsync(npid).WaitAsync(Cleanup.Wait);
        var output = await ReadAllAsync(tenant, npid);
        Assert.True(end.ExitCode == 0, output);

        Assert.Contains($"self={npid} ", output, StringComparison.Ordinal);
        Assert.Contains("state=5 code=7", output, StringComparison.Ordinal);
        Assert.Contains("kill-unknown=-3", output, StringComparison.Ordinal);
        Assert.Contains("ps-lists-self=1", output, StringComparison.Ordinal);

        // The child is a Nefele process of the same tenant, spawned through hostd and the silo.
        var child = output.Split("child=")[1].Split(' ')[0];
        var info = await tenant.GetAsync(child);
        Assert.Equal(ProcessState.Exited, info.State);
        Assert.Equal(7, info.End!.ExitCode);
        Assert.Equal("from-child\n", await ReadAllAsync(tenant, child));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

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
