using System.Diagnostics;
using System.Text;
using Nefele.Client;
using Nefele.Processes;
using Xunit;

namespace Nefele.Cluster.Tests;

/// <summary>
/// libnefele (native/include/nefele.h) on the real cluster: a C program running as a Nefele
/// process directs a spawn to another node with <c>nefele_spawn_opts.affinity</c>.
/// Harmless to the cluster; like every cluster test it starts from nodes 1..3 active and connected.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class CApiCrossNodeTests(ClusterFixture cluster) : IAsyncLifetime
{
    public Task InitializeAsync() => cluster.RestoreAsync(_ => { });

    public Task DisposeAsync() => Task.CompletedTask;

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Spawns /bin/sh -c 'echo child' with the affinity selector given as argv[1], prints
    /// "child &lt;NPID&gt;", monitors the child and prints how it ended; exits 0 only if the
    /// child exited 0.
    /// </summary>
    private const string Program = """
        #include <stdio.h>
        #include <nefele.h>

        int main(int argc, char **argv)
        {
            if (argc != 2) {
                fprintf(stderr, "usage: %s SELECTOR\n", argv[0]);
                return 64;
            }
            const char *affinity[] = { argv[1], NULL };
            const char *args[] = { "-c", "echo child", NULL };
            nefele_spawn_opts opts = { .affinity = affinity };
            npid_t child;
            int rc = nefele_spawn("/bin/sh", args, &opts, &child);
            if (rc < 0) {
                fprintf(stderr, "nefele_spawn: %d: %s\n", rc, nefele_last_error());
                return 2;
            }
            printf("child %s\n", child.id);
            fflush(stdout);

            nefele_exit end;
            rc = nefele_monitor(&child, &end);
            if (rc < 0) {
                fprintf(stderr, "nefele_monitor: %d: %s\n", rc, nefele_last_error());
                return 3;
            }
            printf("end state=%d exit_code=%d signal=%d reason=%s\n", end.state, end.exit_code, end.signal, end.reason);
            fflush(stdout);
            return end.state == NEFELE_EXITED && end.exit_code == 0 ? 0 : 4;
        }
        """;

    [Fact]
    public async Task A_C_program_on_node_1_spawns_a_child_onto_node_3_by_label_affinity_and_monitors_it_to_exit_0()
    {
        var dir = Directory.CreateTempSubdirectory("nct-capi-").FullName;
        // The program runs as the tenant's uid, not as the test's.
        File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        var tenant = await cluster.TenantAsync("t" + Guid.NewGuid().ToString("N")[..10]);
        var npids = new List<string>();
        try
        {
            var binary = await CompileAsync(dir, "spawn_on_node", Program);
            var program = await tenant.SpawnAsync(new ProcessSpec
            {
                Path = binary,
                Args = [$"label:zone={ClusterFixture.Zone(3)}"],
                Affinity = [$"label:zone={ClusterFixture.Zone(1)}"],
            }).WaitAsync(Bound);
            npids.Add(program);

            var programEnd = await tenant.WaitAsync(program).WaitAsync(Bound);
            var logs = Encoding.UTF8.GetString((await tenant.ReadLogsAsync(program)).Data).Trim();
            var child = logs.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Where(l => l.StartsWith("child ", StringComparison.Ordinal)).Select(l => l["child ".Length..]).SingleOrDefault();
            if (child is not null)
            {
                npids.Add(child);
            }

            Assert.True(programEnd.ExitCode == 0, $"the C program ended {programEnd.Describe()}; its output: {logs}");
            Assert.Equal(ClusterFixture.NodeName(1), (await tenant.GetAsync(program)).Node);

            Assert.True(child is not null && Npid.IsWellFormed(child), $"the C program printed no child NPID: {logs}");
            Assert.NotEqual(program, child);
            var info = await tenant.GetAsync(child);
            Assert.Equal(ClusterFixture.NodeName(3), info.Node);
            Assert.StartsWith("/bin/sh", info.Command, StringComparison.Ordinal);
            var childEnd = await tenant.WaitAsync(child).WaitAsync(Bound);
            Assert.Equal("exited 0", childEnd.Describe());
            Assert.Contains("exit_code=0", logs, StringComparison.Ordinal);

            var childLogs = Encoding.UTF8.GetString((await tenant.ReadLogsAsync(child)).Data).Trim();
            Assert.Equal("child", childLogs);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npids);
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Prints "rec NPID NODE DATA" for every kept stderr record of the processes named argv[1], then "end RC".</summary>
    private const string LogsProgram = """
        #include <stdio.h>
        #include <nefele.h>

        int main(int argc, char **argv)
        {
            if (argc != 2) {
                fprintf(stderr, "usage: %s NAME\n", argv[0]);
                return 64;
            }
            nefele_logs_filter f = { .name = argv[1], .stream = NEFELE_STDERR };
            nefele_logs_cursor *c;
            int rc = nefele_logs_open(&f, &c);
            if (rc < 0) {
                printf("open %d: %s\n", rc, nefele_last_error());
                return 2;
            }
            nefele_log_record r;
            while ((rc = nefele_logs_next(c, &r, 20000)) == 1) {
                size_t len = r.len && ((const char *)r.data)[r.len - 1] == '\n' ? r.len - 1 : r.len;
                printf("rec %s %s %.*s\n", r.npid, r.node, (int)len, (const char *)r.data);
            }
            printf("end %d%s%s\n", rc, rc < 0 ? " " : "", rc < 0 ? nefele_last_error() : "");
            nefele_logs_close(c);
            return rc < 0 ? 3 : 0;
        }
        """;

    [Fact]
    public async Task A_C_program_on_node_1_reads_the_stderr_of_two_processes_of_one_name_on_nodes_2_and_3()
    {
        var dir = Directory.CreateTempSubdirectory("nct-capi-logs-").FullName;
        File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        var tenant = await cluster.TenantAsync("t" + Guid.NewGuid().ToString("N")[..10]);
        var name = "twin-" + Guid.NewGuid().ToString("N")[..8];
        var npids = new List<string>();
        try
        {
            var writers = new Dictionary<int, string>();
            foreach (var node in new[] { 2, 3 })
            {
                writers[node] = await tenant.SpawnAsync(new ProcessSpec
                {
                    Path = "/bin/sh",
                    Args = ["-c", $"echo out-{node}; echo err-{node} >&2"],
                    Name = name,
                    Affinity = [$"label:zone={ClusterFixture.Zone(node)}"],
                }).WaitAsync(Bound);
                npids.Add(writers[node]);
            }

            foreach (var npid in writers.Values)
            {
                await tenant.WaitAsync(npid).WaitAsync(Bound);
            }

            var binary = await CompileAsync(dir, "logs_of_name", LogsProgram);
            var reader = await tenant.SpawnAsync(new ProcessSpec
            {
                Path = binary,
                Args = [name],
                Affinity = [$"label:zone={ClusterFixture.Zone(1)}"],
            }).WaitAsync(Bound);
            npids.Add(reader);

            var end = await tenant.WaitAsync(reader).WaitAsync(Bound);
            var logs = Encoding.UTF8.GetString((await tenant.ReadLogsAsync(reader)).Data);
            Assert.True(end.ExitCode == 0, $"the C program ended {end.Describe()}; its output: {logs}");
            Assert.Equal(ClusterFixture.NodeName(1), (await tenant.GetAsync(reader)).Node);

            var records = logs.Split('\n').Where(l => l.StartsWith("rec ", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray();
            Assert.Equal(
                new[] { $"rec {writers[2]} {ClusterFixture.NodeName(2)} err-2", $"rec {writers[3]} {ClusterFixture.NodeName(3)} err-3" }.Order(StringComparer.Ordinal),
                records);
            Assert.Contains("end 0", logs, StringComparison.Ordinal);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npids);
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Builds <paramref name="program"/> in <paramref name="dir"/> against native/build/libnefele.so; returns the binary's path.</summary>
    private static async Task<string> CompileAsync(string dir, string name, string program)
    {
        var lib = Path.GetDirectoryName(RepoPaths.Native("libnefele.so"))!;
        var source = Path.Combine(dir, name + ".c");
        var binary = Path.Combine(dir, name);
        await File.WriteAllTextAsync(source, program);

        var psi = new ProcessStartInfo("gcc")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[]
                 {
                     "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-O2",
                     "-I", Path.Combine(RepoPaths.Root, "native", "include"),
                     "-o", binary, source,
                     "-L", lib, "-lnefele", $"-Wl,-rpath,{lib}",
                 })
        {
            psi.ArgumentList.Add(a);
        }

        using var gcc = Process.Start(psi)!;
        var stdout = gcc.StandardOutput.ReadToEndAsync();
        var stderr = gcc.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(Bound);
        try
        {
            await gcc.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            gcc.Kill(entireProcessTree: true);
            throw new TimeoutException($"gcc did not finish within {Bound}");
        }

        var output = await stdout + await stderr;
        Assert.True(gcc.ExitCode == 0, $"gcc exited {gcc.ExitCode}:\n{output}");
        return binary;
    }
}
