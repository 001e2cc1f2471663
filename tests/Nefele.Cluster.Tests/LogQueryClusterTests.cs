using Nefele.Auth;
using Nefele.Client;
using Xunit;

namespace Nefele.Cluster.Tests;

public sealed partial class ClusterTests
{
    /// <summary>
    /// A process named <paramref name="name"/> on node <paramref name="node"/> that writes "TAG-out" on
    /// stdout and "TAG-err" on stderr, then on SIGUSR1 "TAG-second" on stdout, and ends.
    /// </summary>
    private static ProcessSpec LogWriter(int node, string name, string tag) => new()
    {
        Path = "/bin/sh",
        Args = ["-c", $"trap 'kill $!; echo {tag}-second; exit 0' USR1; echo {tag}-out; echo {tag}-err >&2; sleep 1000 & wait"],
        Name = name,
        Affinity = [$"label:zone={ClusterFixture.Zone(node)}"],
    };

    private Dictionary<string, string?> NefEnv(string tenant) => new()
    {
        ["NEFELE_API"] = ClusterFixture.Api(1),
        ["NEFELE_TENANT"] = tenant,
        [CredentialSources.TokenVariable] = cluster.AdminKey,
        [CredentialSources.AdminKeyFileVariable] = "/nonexistent",
        ["XDG_CONFIG_HOME"] = "/nonexistent",
    };

    /// <summary>Waits until <paramref name="follow"/> has printed every line; fails with what it printed (and its errors, if it ended).</summary>
    private async Task UntilPrintedAsync(BackgroundCommand follow, string what, params string[] lines)
    {
        try
        {
            await Eventually.Until(() => lines.All(l => follow.Out.Contains(l, StringComparison.Ordinal)) || follow.HasExited, Bound, "nef logs -f printed " + what);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; it printed:\n{follow.Out}\n{cluster.Logs()}", e);
        }

        Assert.False(follow.HasExited, $"nef logs -f ended: {follow.ErrorIfEnded}; it printed:\n{follow.Out}");
    }

    [Fact]
    public async Task Nef_logs_follow_by_name_follows_processes_on_two_nodes_including_one_started_later()
    {
        var tenant = await NewTenantAsync(cluster);
        var nef = Path.Combine(RepoPaths.Root, "bin", "nef");
        var npids = new List<string>();
        try
        {
            npids.Add(await tenant.SpawnAsync(LogWriter(1, "web", "one")).WaitAsync(Bound));
            npids.Add(await tenant.SpawnAsync(LogWriter(2, "web", "two")).WaitAsync(Bound));
            npids.Add(await tenant.SpawnAsync(LogWriter(2, "db", "other")).WaitAsync(Bound));
            Assert.Equal((ClusterFixture.NodeName(1), ClusterFixture.NodeName(2)), ((await tenant.GetAsync(npids[0])).Node, (await tenant.GetAsync(npids[1])).Node));

            // Through node 1's REST API, as nef does from outside the cluster.
            using var follow = new BackgroundCommand(nef, ["logs", "-f", "--name", "web", "--stream", "stdout", "--since", "5m"], NefEnv(tenant.Name));
            await UntilPrintedAsync(follow, "what both nodes kept", $"web/{npids[0]} | one-out\n", $"web/{npids[1]} | two-out\n");

            // Both nodes have read the stderr lines too (through the SDK's own query), so what comes after this is new.
            await Eventually.Until(async () =>
            {
                var errors = new HashSet<string>(StringComparer.Ordinal);
                await foreach (var r in tenant.LogsAsync(new LogQuery { Name = "web", Stream = LogStream.Stderr }))
                {
                    errors.Add(r.Npid);
                }

                return errors.Contains(npids[0]) && errors.Contains(npids[1]);
            }, Bound, "both nodes read the stderr lines");
            var afterKept = DateTimeOffset.UtcNow;

            // New output of a followed process, and a process that matches and starts later, on either node.
            await tenant.KillAsync(npids[0], 10); // SIGUSR1
            npids.Add(await tenant.SpawnAsync(LogWriter(2, "web", "late")).WaitAsync(Bound));
            await UntilPrintedAsync(follow, "node 1's new line and the later process's line on node 2", $"web/{npids[0]} | one-second\n", $"web/{npids[3]} | late-out\n");

            // The stream filter held, and so did the name.
            Assert.DoesNotContain("-err", follow.Out, StringComparison.Ordinal);
            Assert.DoesNotContain("other-", follow.Out, StringComparison.Ordinal);

            // since: only what was read after the kept lines were seen, from both nodes.
            var (code, stdout, stderr) = await Command.RunAsync(nef, ["logs", "--name", "web", "--since", afterKept.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", System.Globalization.CultureInfo.InvariantCulture)], NefEnv(tenant.Name), Bound);
            Assert.True(code == 0, stderr);
            string[] expected = [$"web/{npids[0]} | one-second", $"web/{npids[3]} | late-out", $"web/{npids[3]} stderr | late-err"];
            Assert.Equal(expected.Order(StringComparer.Ordinal), stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npids);
        }
    }
}
