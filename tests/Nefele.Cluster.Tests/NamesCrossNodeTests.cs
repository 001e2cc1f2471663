using System.Text;
using Nefele.Client;
using Xunit;

namespace Nefele.Cluster.Tests;

/// <summary>
/// The name service across nodes: a name registered for a process on one node shows in the
/// table hostd keeps on another node (read by a C program there over the process socket, which
/// never leaves its node), also on a node whose first process of the tenant starts after the
/// registration; and the names of a node's processes go when that node is killed.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class NamesCrossNodeTests(ClusterFixture cluster) : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    /// <summary>
    /// NAME TIMEOUT_MS COUNT...: for each COUNT in turn, polls its node's table until NAME has that
    /// many holders and prints "reached COUNT"; prints "stuck at N" and exits 1 when the time is out.
    /// </summary>
    private const string Probe = """
        #include <stdio.h>
        #include <stdlib.h>
        #include <time.h>
        #include <nefele.h>

        static long long now_ms(void) {
            struct timespec t;
            clock_gettime(CLOCK_MONOTONIC, &t);
            return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
        }

        int main(int argc, char **argv) {
            if (argc < 4) return 64;
            long long deadline = now_ms() + atoi(argv[2]);
            for (int i = 3; i < argc; i++) {
                size_t want = (size_t)atoi(argv[i]), n = 0;
                npid_t holders[16];
                for (;;) {
                    n = 0;
                    if (nefele_wait(argv[1], 0, holders, 16, &n) < 0) n = 0;
                    if (n == want) break;
                    if (now_ms() > deadline) { printf("stuck at %zu\n", n); fflush(stdout); return 1; }
                    struct timespec pause = { 0, 10 * 1000000 };
                    nanosleep(&pause, NULL);
                }
                printf("reached %zu\n", n);
                fflush(stdout);
            }
            return 0;
        }
        """;

    private string _dir = string.Empty;

    public async Task InitializeAsync()
    {
        await cluster.RestoreAsync(_ => { });
        _dir = Directory.CreateTempSubdirectory($"{ClusterFixture.Prefix}-names-").FullName;

        // The probe runs as the tenant's uid, not as the test's.
        File.SetUnixFileMode(_dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_name_registered_on_one_node_shows_in_the_tables_of_the_others()
    {
        var tenant = await cluster.TenantAsync("t" + Guid.NewGuid().ToString("N")[..10]);
        var probe = await CompileAsync();
        var npids = new List<string>();
        try
        {
            var holder = await tenant.SpawnAsync(OnNode(1, "/bin/sleep", "120")).WaitAsync(Bound);
            npids.Add(holder);
            var before = await tenant.SpawnAsync(OnNode(2, probe, "web", "30000", "1")).WaitAsync(Bound);
            npids.Add(before);

            await tenant.RegisterAsync("web", holder).WaitAsync(Bound);

            // Node 2 ran the tenant before the registration: the change was pushed to it.
            Assert.Equal("reached 1", await OutputAfterEndAsync(tenant, before));

            // Node 3 runs its first process of the tenant now: the launch brings the table along.
            var after = await tenant.SpawnAsync(OnNode(3, probe, "web", "30000", "1")).WaitAsync(Bound);
            npids.Add(after);
            Assert.Equal("reached 1", await OutputAfterEndAsync(tenant, after));

            var entry = Assert.Single(await tenant.ListNamesAsync());
            Assert.Equal(ClusterFixture.NodeName(1), Assert.Single(entry.Holders).Node);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npids);
        }
    }

    /// <summary>
    /// Node 2 dies twice (killed, started again, killed again): each time the names of its
    /// processes leave node 1's table, whichever silos held their process grains and node 1's
    /// node grain (Orleans deactivates activations whose grain-directory entry was on the dead silo).
    /// </summary>
    [Fact]
    public async Task The_names_of_a_killed_nodes_processes_leave_the_other_nodes_tables_each_time_it_dies()
    {
        var tenant = await cluster.TenantAsync("t" + Guid.NewGuid().ToString("N")[..10]);
        var probe = await CompileAsync();
        var npids = new List<string>();
        try
        {
            var onOne = await tenant.SpawnAsync(OnNode(1, "/bin/sleep", "600")).WaitAsync(Bound);
            npids.Add(onOne);
            await tenant.RegisterAsync("web", onOne).WaitAsync(Bound);
            for (var death = 1; death <= 2; death++)
            {
                var onTwo = await tenant.SpawnAsync(OnNode(2, "/bin/sleep", "300")).WaitAsync(Bound);
                npids.Add(onTwo);
                await tenant.RegisterAsync("web", onTwo).WaitAsync(Bound);
                await tenant.SubscribeAsync("news", onTwo).WaitAsync(Bound);

                // Watches node 1's table: both holders, then only node 1's once node 2 is gone.
                var watcher = await tenant.SpawnAsync(OnNode(1, probe, "web", $"{(int)Bound.TotalMilliseconds * 2}", "2", "1")).WaitAsync(Bound);
                npids.Add(watcher);
                await Eventually.Until(async () => (await LogsAsync(tenant, watcher)).Contains("reached 2", StringComparison.Ordinal), Bound, $"node 1's table lists both holders (death {death})");

                await cluster.ScriptAsync("kill", "2");

                await tenant.WaitAsync(watcher).WaitAsync(Bound * 3);
                Assert.True((await LogsAsync(tenant, watcher)).Trim() == "reached 2\nreached 1",
                    $"death {death}: node 1's table still lists node 2's holder: {(await LogsAsync(tenant, watcher)).Trim()}\n{cluster.Logs()}");
                await Eventually.Until(async () => (await tenant.ListTopicsAsync()).Count == 0, Bound, $"the lost node's subscription is gone (death {death})");
                Assert.Equal([onOne], Assert.Single(await tenant.ListNamesAsync()).Holders.Select(h => h.Npid));

                if (death == 1)
                {
                    await cluster.ScriptAsync("start", "2");
                    await cluster.WaitForNodesAsync([1, 2, 3], ClusterFixture.RejoinBound);
                }
            }
        }
        finally
        {
            // Node 2 stays killed: the next test's restore starts it.
            await Cleanup.KillAsync(tenant, npids);
        }
    }

    private static ProcessSpec OnNode(int k, string path, params string[] args) => new()
    {
        Path = path,
        Args = args,
        Affinity = [$"label:zone={ClusterFixture.Zone(k)}"],
    };

    private static async Task<string> OutputAfterEndAsync(NefeleTenant tenant, string npid)
    {
        await tenant.WaitAsync(npid).WaitAsync(Bound);
        return (await LogsAsync(tenant, npid)).Trim();
    }

    private static async Task<string> LogsAsync(NefeleTenant tenant, string npid) =>
        Encoding.UTF8.GetString((await tenant.ReadLogsAsync(npid)).Data);

    private async Task<string> CompileAsync()
    {
        var lib = Path.GetDirectoryName(RepoPaths.Native("libnefele.so"))!;
        var source = Path.Combine(_dir, "names_probe.c");
        var binary = Path.Combine(_dir, "names_probe");
        await File.WriteAllTextAsync(source, Probe);
        var (code, stdout, stderr) = await Command.RunAsync("gcc",
            ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-O2", "-I", Path.Combine(RepoPaths.Root, "native", "include"),
             "-o", binary, source, "-L", lib, "-lnefele", $"-Wl,-rpath,{lib}"], timeout: Bound);
        Assert.True(code == 0, $"gcc exited {code}:\n{stdout}{stderr}");
        return binary;
    }
}
