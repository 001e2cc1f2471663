using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Nefele.Client;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>
/// examples/webserver on one node, as its README runs it there: the C worker built with pkg-config
/// against an installed libnefele, the C# client connected to the node's gateway. A worker killed
/// by NPID mid-run is replaced by the supervisor, every request is answered, and the client's end
/// stops the pool. (The cluster test also kills a node: tests/Nefele.Cluster.Tests.)
/// </summary>
[Collection(CApiNode.Name)]
public sealed partial class WebserverExampleTests(NodeFixture fixture) : IDisposable
{
    private const int Workers = 3;
    private const int Requests = 120;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);
    private readonly string _dir = TestDirectory.Create("nefele-webserver-");

    [Fact]
    public async Task The_client_has_every_request_answered_by_the_supervised_pool_while_a_worker_is_killed_and_stops_the_pool_at_its_end()
    {
        var client = Path.Combine(RepoPaths.Root, "examples", "webserver", "bin", RepoPaths.Configuration, "net10.0", "nefele-webserver.dll");
        Assert.True(File.Exists(client), $"{client} is missing: build the solution (scripts/test does)");
        var prefix = Path.Combine(_dir, "prefix");
        await RunOkAsync("make", ["-s", "-C", Path.Combine(RepoPaths.Root, "native"), "install", $"PREFIX={prefix}"]);
        await RunOkAsync("make", ["-s", "-C", Path.Combine(RepoPaths.Root, "examples", "webserver"), $"OUT={_dir}", $"LDFLAGS=-Wl,-rpath,{prefix}/lib"],
            new Dictionary<string, string?> { ["PKG_CONFIG_PATH"] = Path.Combine(prefix, "lib", "pkgconfig") });

        const string Tenant = "webserver-example";
        var tenant = await fixture.Node.SdkAsync(Tenant);
        var log = new StringBuilder();
        using var program = Start(client, log, fixture.Node.AdminKey,
            "--worker", Path.Combine(_dir, "webserver-worker"), "--workers", $"{Workers}", "--requests", $"{Requests}", "--rate", "10",
            "--timeout", "1500", "--tenant", Tenant, "--supervisor", "pool", "--gateway", $"127.0.0.1:{fixture.Node.GatewayPort}");
        try
        {
            IReadOnlyList<ProcessInfo> pool = [];
            await Eventually.Until(async () => (pool = await RunningWorkersAsync(tenant)).Count == Workers && Answered(log) >= 10,
                Bound, $"{Workers} workers running and 10 requests answered\n{Text(log)}");
            var victim = pool[0].Npid;
            await tenant.KillAsync(victim, Signals.SigKill);
            await Eventually.Until(async () => (pool = await RunningWorkersAsync(tenant)).Count == Workers && pool.All(p => p.Npid != victim),
                Bound, $"the pool back to {Workers} workers without {victim}\n{Text(log)}");

            using (var cts = new CancellationTokenSource(Bound))
            {
                await program.WaitForExitAsync(cts.Token);
            }

            var text = Text(log);
            Assert.True(program.ExitCode == 0, text);
            var summary = SummaryLine().Match(text);
            Assert.True(summary.Success, text);
            Assert.Equal($"{Requests}", summary.Groups["requests"].Value);
            Assert.Equal($"{Requests}", summary.Groups["answered"].Value);
            Assert.Equal("0", summary.Groups["unanswered"].Value);
            Assert.Contains("supervisor pool stopped", text, StringComparison.Ordinal);
            Assert.Empty(await RunningWorkersAsync(tenant));
            // The workers' names died with them.
            await Eventually.Until(async () => (await tenant.ListNamesAsync()).All(n => n.Holders.Count == 0), Bound, "no name held once the pool stopped");
        }
        finally
        {
            if (!program.HasExited)
            {
                program.Kill(entireProcessTree: true);
            }

            await Cleanup.KillAsync(tenant, (await RunningWorkersAsync(tenant)).Select(p => p.Npid));
        }
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<IReadOnlyList<ProcessInfo>> RunningWorkersAsync(NefeleTenant tenant) =>
        (await tenant.PsAsync()).Where(p => p.Name == "webserver-worker" && p.State == ProcessState.Running).ToList();

    private static async Task RunOkAsync(string file, string[] args, IDictionary<string, string?>? env = null)
    {
        var (code, stdout, stderr) = await NodeUnderTest.RunAsync(file, args, env, Bound);
        Assert.True(code == 0, $"{file} {string.Join(' ', args)} exited {code}: {stderr}{stdout}");
    }

    private static Process Start(string dll, StringBuilder log, string key, params string[] args) =>
        DotnetChild.Start("client", dll, args, log, new Dictionary<string, string> { ["NEFELE_TOKEN"] = key });

    private static string Text(StringBuilder log)
    {
        lock (log)
        {
            return log.ToString();
        }
    }

    private static long Answered(StringBuilder log) =>
        Progress().Matches(Text(log)) is { Count: > 0 } m ? long.Parse(m[^1].Groups[1].Value, CultureInfo.InvariantCulture) : 0;

    [GeneratedRegex(@"^client: sent \d+ answered (\d+) ", RegexOptions.Multiline)]
    private static partial Regex Progress();

    [GeneratedRegex(@"summary: requests (?<requests>\d+) answered (?<answered>\d+) unanswered (?<unanswered>\d+) ")]
    private static partial Regex SummaryLine();
}
