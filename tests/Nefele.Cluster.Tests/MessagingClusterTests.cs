using System.Diagnostics;
using System.Net;
using System.Text;
using Nefele.Client;
using Xunit;
using Xunit.Abstractions;

namespace Nefele.Cluster.Tests;

/// <summary>
/// Messages across nodes of the real cluster: a mailbox on node 1 (its SDK connection's gateway)
/// and processes on nodes 2 and 3 (libnefele programs), so every message crosses silos: FIFO per
/// pair, and what a node's death does to messages in flight (at-most-once: acked sends fail,
/// nothing is duplicated). Like every cluster test it starts from nodes 1..3 active and connected.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class MessagingClusterTests(ClusterFixture cluster, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    /// <summary>
    /// echo: answers every message to its sender (same tag and data) until one tagged "stop".
    /// burst TARGET N: sends N numbered unacked messages to TARGET (an echo), then receives the N
    /// answers; exits 0 only when they came back complete and in order, with seq 1..N.
    /// </summary>
    private const string Program = """
        #include <nefele.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>

        static int fail(const char *what, int rc) { fprintf(stderr, "%s: %d %s\n", what, rc, nefele_last_error()); return 2; }

        int main(int argc, char **argv)
        {
            if (argc == 2 && strcmp(argv[1], "echo") == 0) {
                for (;;) {
                    nefele_msg m;
                    int rc = nefele_recv(&m, -1, NULL);
                    if (rc < 0) return fail("recv", rc);
                    if (strcmp(m.tag, "stop") == 0) { nefele_msg_free(&m); return 0; }
                    rc = nefele_message(m.from, m.tag, m.data, m.len, 0, 10000);
                    if (rc < 0) fail("send", rc);
                    nefele_msg_free(&m);
                }
            }
            if (argc == 4 && strcmp(argv[1], "burst") == 0) {
                int n = atoi(argv[3]);
                for (int i = 0; i < n; i++) {
                    int rc = nefele_message(argv[2], "n", &i, sizeof i, 0, 10000);
                    if (rc < 0) return fail("send", rc);
                }
                for (int i = 0; i < n; i++) {
                    nefele_msg m;
                    int rc = nefele_recv(&m, 30000, "n");
                    if (rc < 0) return fail("recv", rc);
                    int got;
                    memcpy(&got, m.data, sizeof got);
                    if (got != i || m.seq != (unsigned long long)i + 1) { fprintf(stderr, "answer %d was %d (seq %llu)\n", i, got, m.seq); return 3; }
                    nefele_msg_free(&m);
                }
                printf("in order %d\n", n);
                return 0;
            }
            if (argc == 3 && strcmp(argv[1], "pinger") == 0) {
                for (int i = 0;; i++) {
                    int rc = nefele_message(argv[2], "n", &i, sizeof i, NEFELE_MSG_ACK, 10000);
                    if (rc < 0) { printf("failed %d %d %s\n", i, rc, nefele_last_error()); fflush(stdout); return 0; }
                    nefele_msg m;
                    rc = nefele_recv(&m, 15000, "n");
                    if (rc < 0) { printf("noanswer %d %d\n", i, rc); fflush(stdout); continue; }
                    int got;
                    memcpy(&got, m.data, sizeof got);
                    printf("answer %d %llu\n", got, m.seq);
                    fflush(stdout);
                    nefele_msg_free(&m);
                }
            }
            fprintf(stderr, "usage: %s echo | burst TARGET N | pinger TARGET\n", argv[0]);
            return 64;
        }
        """;

    private string _dir = string.Empty;

    public async Task InitializeAsync()
    {
        await cluster.RestoreAsync(output.WriteLine);
        _dir = Directory.CreateTempSubdirectory("nro-msg-").FullName;
        File.SetUnixFileMode(_dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Processes_on_two_nodes_exchange_messages_in_send_order()
    {
        var binary = await CompileAsync();
        var tenant = await cluster.TenantAsync("t" + Guid.NewGuid().ToString("N")[..10]);
        var npids = new List<string>();
        try
        {
            var echo = await tenant.SpawnAsync(OnNode(3, binary, "echo")).WaitAsync(Bound);
            npids.Add(echo);
            var burst = await tenant.SpawnAsync(OnNode(2, binary, "burst", echo, "500")).WaitAsync(Bound);
            npids.Add(burst);

            var end = await tenant.WaitAsync(burst).WaitAsync(Bound);
            var logs = Encoding.UTF8.GetString((await tenant.ReadLogsAsync(burst)).Data);
            Assert.True(end.ExitCode == 0, $"burst ended {end.Describe()}: {logs}");
            Assert.Contains("in order 500", logs, StringComparison.Ordinal);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npids);
        }
    }

    [Fact]
    public async Task A_mailbox_on_node_1_and_a_process_on_node_2_talk_in_order()
    {
        var binary = await CompileAsync();
        var name = "t" + Guid.NewGuid().ToString("N")[..10];
        await cluster.TenantAsync(name);
        await using var connection = await NefeleConnection.ConnectAsync(cluster.Options(Gateway(1))).WaitAsync(Bound);
        var tenant = connection.Tenant(name);
        await using var mailbox = await tenant.OpenMailboxAsync().WaitAsync(Bound);
        var echo = await tenant.SpawnAsync(OnNode(2, binary, "echo")).WaitAsync(Bound);
        try
        {
            const int count = 200;
            for (var i = 0; i < count; i++)
            {
                await mailbox.SendAsync(echo, BitConverter.GetBytes(i), new SendOptions { Ack = i == count - 1 }).WaitAsync(Bound);
            }

            for (var i = 0; i < count; i++)
            {
                var m = await mailbox.ReceiveAsync(TimeSpan.FromSeconds(30)).WaitAsync(Bound);
                Assert.Equal(echo, m.From);
                Assert.Equal(i, BitConverter.ToInt32(m.Data.Span));
                Assert.Equal((ulong)(i + 1), m.Seq);
            }
        }
        finally
        {
            await Cleanup.KillAsync(tenant, echo);
        }
    }

    [Fact]
    public async Task Messages_in_flight_when_the_receivers_node_dies_are_lost_at_most_once_and_acked_sends_fail()
    {
        var binary = await CompileAsync();
        var tenant = await cluster.TenantAsync("t" + Guid.NewGuid().ToString("N")[..10]);
        var npids = new List<string>();
        try
        {
            // pinger (node 1): acked sends to echo (node 3), one at a time, each answer printed, until a send fails.
            var echo = await tenant.SpawnAsync(OnNode(3, binary, "echo")).WaitAsync(Bound);
            npids.Add(echo);
            var pinger = await tenant.SpawnAsync(OnNode(1, binary, "pinger", echo)).WaitAsync(Bound);
            npids.Add(pinger);
            await Eventually.Until(async () => (await Logs(tenant, pinger)).Contains("answer 20 ", StringComparison.Ordinal), Bound, "the pinger's first 20 answers");

            var stopwatch = Stopwatch.StartNew();
            await cluster.ScriptAsync("kill", "3");
            var end = await tenant.WaitAsync(pinger).WaitAsync(TimeSpan.FromSeconds(150));
            var logs = await Logs(tenant, pinger);
            output.WriteLine($"pinger ended {stopwatch.Elapsed.TotalSeconds:0.0} s after the kill: {end.Describe()}; last lines: {string.Join(" | ", logs.Split('\n').TakeLast(4))}");
            Assert.True(end.ExitCode == 0, logs);

            // The acked send in flight (or the next one) failed: never a silent success.
            var failed = logs.Split('\n').SingleOrDefault(l => l.StartsWith("failed ", StringComparison.Ordinal));
            Assert.True(failed is not null, logs);

            // Every answer that came is one that was sent, once, in order: no duplicate, no reordering.
            var answers = logs.Split('\n').Where(l => l.StartsWith("answer ", StringComparison.Ordinal))
                .Select(l => l.Split(' ')).Select(f => (Got: int.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture), Seq: ulong.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture))).ToArray();
            Assert.True(answers.Length > 20, logs);
            Assert.Equal(Enumerable.Range(0, answers.Length), answers.Select(a => a.Got));
            Assert.Equal(answers.Select(a => (ulong)a.Got + 1), answers.Select(a => a.Seq));
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npids);
        }
    }

    private static async Task<string> Logs(NefeleTenant tenant, string npid) =>
        Encoding.UTF8.GetString((await tenant.ReadLogsAsync(npid)).Data);

    private static IPEndPoint Gateway(int k) => new(IPAddress.Parse($"{ClusterFixture.Subnet}.{10 + k}"), 30000);

    private static ProcessSpec OnNode(int k, string path, params string[] args) => new()
    {
        Path = path,
        Args = args,
        Affinity = [$"label:zone={ClusterFixture.Zone(k)}"],
    };

    private async Task<string> CompileAsync()
    {
        var lib = Path.GetDirectoryName(RepoPaths.Native("libnefele.so"))!;
        var source = Path.Combine(_dir, "msg.c");
        var binary = Path.Combine(_dir, "msg");
        await File.WriteAllTextAsync(source, Program);
        var (code, _, stderr) = await Command.RunAsync("gcc",
            ["-std=gnu11", "-Wall", "-O2", "-I", Path.Combine(RepoPaths.Root, "native", "include"), "-o", binary, source, "-L", lib, "-lnefele", $"-Wl,-rpath,{lib}"],
            timeout: Bound);
        Assert.True(code == 0, $"gcc failed: {stderr}");
        return binary;
    }
}
