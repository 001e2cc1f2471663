using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Nefele.Client;
using Xunit;
using Xunit.Abstractions;

namespace Nefele.Cluster.Tests;

/// <summary>
/// examples/webserver on the real cluster, as its README runs it: the C worker built with
/// pkg-config against an installed libnefele, and the C# client (a durable simple_one_for_one
/// supervisor of the workers, requests sent by name with ack from a mailbox, resent when their
/// answer is late) connected through the cluster's Redis with mutual TLS. Workers are killed by
/// NPID, then a whole node; every request is still answered and the pool comes back to its size.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed partial class WebserverExampleTests(ClusterFixture cluster, ITestOutputHelper output) : IAsyncLifetime
{
    private const int Workers = 4;
    private const string WorkerName = "webserver-worker";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);

    public Task InitializeAsync() => cluster.RestoreAsync(output.WriteLine);

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Every_request_is_answered_while_workers_and_a_node_die_and_the_pool_comes_back_to_its_size()
    {
        var client = Path.Combine(RepoPaths.Root, "examples", "webserver", "bin", RepoPaths.Configuration, "net10.0", "nefele-webserver.dll");
        Assert.True(File.Exists(client), $"{client} is missing: build the solution (scripts/test does)");
        var dir = Directory.CreateTempSubdirectory("nex-webserver-").FullName;
        // The workers run as the tenant's uid, not as the test's.
        File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        var tenant = await cluster.TenantAsync("web" + Guid.NewGuid().ToString("N")[..10]);
        var log = new StringBuilder();
        Process? program = null;
        int? killedNode = null;
        try
        {
            var worker = await BuildWorkerAsync(dir);
            program = Start(client, log,
                "--worker", worker, "--workers", $"{Workers}", "--tenant", tenant.Name, "--supervisor", "pool",
                "--rate", "20", "--timeout", "1500",
                "--redis", ClusterFixture.Redis, "--cluster-id", cluster.ClusterId, "--tls", cluster.TlsDir);

            var first = await PoolAsync(tenant, [], null, program, log);
            await Eventually.Until(() => Answered(log) >= 20, Bound, $"20 requests answered\n{Text(log)}");

            // Two workers killed by NPID: the supervisor starts two others; the name's other holders
            // serve meanwhile, and a request sent to a worker that died is resent.
            var victims = first.Take(2).Select(p => p.Npid).ToArray();
            foreach (var npid in victims)
            {
                await tenant.KillAsync(npid, Signals.SigKill);
            }

            var second = await PoolAsync(tenant, victims, null, program, log);
            var answered = Answered(log);
            await Eventually.Until(() => Answered(log) >= answered + 20, Bound, $"20 more requests answered after the workers' kill\n{Text(log)}");

            // A whole node (not node 1, whose API the fixture reads): the one with the most workers.
            killedNode = second.Where(p => p.Node != ClusterFixture.NodeName(1))
                .GroupBy(p => p.Node!).OrderByDescending(g => g.Count()).Select(g => int.Parse(g.Key[(g.Key.LastIndexOf('n') + 1)..], System.Globalization.CultureInfo.InvariantCulture))
                .FirstOrDefault(2);
            output.WriteLine($"killing node {killedNode}, which runs {second.Count(p => p.Node == ClusterFixture.NodeName(killedNode.Value))} of the workers");
            await cluster.ScriptAsync("kill", $"{killedNode}");
            await PoolAsync(tenant, victims, ClusterFixture.NodeName(killedNode.Value), program, log);
            answered = Answered(log);
            await Eventually.Until(() => Answered(log) >= answered + 20, Bound, $"20 more requests answered after node {killedNode} died\n{Text(log)}");

            // SIGTERM, which the client handles as Ctrl-C: it stops sending, waits for the answers still
            // owed, and stops the supervisor. Not SIGINT: a program started from a shell's background job
            // without job control inherits SIGINT ignored, and .NET keeps it so.
            Assert.Equal(0, Interop.Kill(program.Id, 15));
            using (var cts = new CancellationTokenSource(Bound))
            {
                try
                {
                    await program.WaitForExitAsync(cts.Token);
                }
                catch (OperationCanceledException)
                {
                    Assert.Fail($"the client did not end within {Bound} of SIGTERM\n{Text(log)}");
                }
            }

            var text = Text(log);
            output.WriteLine(string.Join('\n', text.Split('\n').Where(l => !l.StartsWith("client: sent ", StringComparison.Ordinal))));
            foreach (var ended in (await tenant.PsAsync(all: true)).Where(p => p.Name == WorkerName && p.End is not null))
            {
                output.WriteLine($"worker {ended.Npid} on {ended.Node}: {ended.End!.Describe()}");
            }

            var summary = SummaryLine().Match(text);
            Assert.True(summary.Success, text);
            Assert.True(program.ExitCode == 0, text);
            Assert.Equal("0", summary.Groups["unanswered"].Value);
            Assert.Equal(summary.Groups["requests"].Value, summary.Groups["answered"].Value);
            // The first pool, the two started after the kill, and those that replaced the node's all answered.
            Assert.True(int.Parse(summary.Groups["workers"].Value, System.Globalization.CultureInfo.InvariantCulture) > Workers, text);
            Assert.Contains($"supervisor pool stopped", text, StringComparison.Ordinal);
            await Eventually.Until(async () => !(await RunningWorkersAsync(tenant)).Any(), Bound, "no worker runs once the supervisor stopped");
        }
        finally
        {
            if (program is { HasExited: false })
            {
                program.Kill(entireProcessTree: true);
            }

            program?.Dispose();
            if (killedNode is { } k)
            {
                await cluster.ScriptAsync("start", $"{k}");
                await cluster.WaitForNodesAsync([1, 2, 3], ClusterFixture.RejoinBound);
            }

            await Cleanup.KillAsync(tenant, (await RunningWorkersAsync(tenant)).Select(p => p.Npid));
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Until <see cref="Workers"/> workers run, none of them one of <paramref name="dead"/> nor on <paramref name="deadNode"/>, and each holds the name.</summary>
    private async Task<IReadOnlyList<ProcessInfo>> PoolAsync(NefeleTenant tenant, string[] dead, string? deadNode, Process program, StringBuilder log)
    {
        IReadOnlyList<ProcessInfo> pool = [];
        await Eventually.Until(async () =>
        {
            Assert.False(program.HasExited, $"the client ended early:\n{Text(log)}");
            pool = await RunningWorkersAsync(tenant);
            return pool.Count == Workers && !pool.Any(p => dead.Contains(p.Npid) || p.Node == deadNode);
        }, Bound, $"{Workers} workers running{(deadNode is null ? "" : $" off {deadNode}")}\n{Text(log)}");
        output.WriteLine($"pool: {string.Join(", ", pool.Select(p => $"{p.Npid} on {p.Node}"))}");
        return pool;
    }

    private static async Task<IReadOnlyList<ProcessInfo>> RunningWorkersAsync(NefeleTenant tenant) =>
        (await tenant.PsAsync()).Where(p => p.Name == WorkerName && p.State == ProcessState.Running).ToList();

    /// <summary>Installs libnefele in a prefix of <paramref name="dir"/> and builds the worker against it with pkg-config, as the README says.</summary>
    private static async Task<string> BuildWorkerAsync(string dir)
    {
        var prefix = Path.Combine(dir, "prefix");
        await RunOkAsync("make", ["-s", "-C", Path.Combine(RepoPaths.Root, "native"), "install", $"PREFIX={prefix}"]);
        await RunOkAsync("make", ["-s", "-C", Path.Combine(RepoPaths.Root, "examples", "webserver"), $"OUT={dir}", $"LDFLAGS=-Wl,-rpath,{prefix}/lib"],
            new Dictionary<string, string?> { ["PKG_CONFIG_PATH"] = Path.Combine(prefix, "lib", "pkgconfig") });
        return Path.Combine(dir, "webserver-worker");
    }

    private static async Task RunOkAsync(string file, string[] args, IDictionary<string, string?>? env = null)
    {
        var (code, stdout, stderr) = await Command.RunAsync(file, args, env, TimeSpan.FromSeconds(120));
        Assert.True(code == 0, $"{file} {string.Join(' ', args)} exited {code}: {stderr}{stdout}");
    }

    private Process Start(string dll, StringBuilder log, params string[] args) =>
        DotnetChild.Start("client", dll, args, log, new Dictionary<string, string> { ["NEFELE_TOKEN"] = cluster.AdminKey ?? string.Empty });

    private static string Text(StringBuilder log)
    {
        lock (log)
        {
            return log.ToString();
        }
    }

    /// <summary>The answers the client counted so far, from its last progress line.</summary>
    private static long Answered(StringBuilder log) =>
        Progress().Matches(Text(log)) is { Count: > 0 } m ? long.Parse(m[^1].Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;

    [GeneratedRegex(@"^client: sent \d+ answered (\d+) ", RegexOptions.Multiline)]
    private static partial Regex Progress();

    [GeneratedRegex(@"summary: requests (?<requests>\d+) answered (?<answered>\d+) unanswered (?<unanswered>\d+) .* workers seen (?<workers>\d+) on")]
    private static partial Regex SummaryLine();
}
