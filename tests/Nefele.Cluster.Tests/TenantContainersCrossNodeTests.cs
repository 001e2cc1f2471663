using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Nefele.Client;
using Nefele.Processes;
using Xunit;

namespace Nefele.Cluster.Tests;

/// <summary>
/// A tenant's containers on two nodes: processes from a busybox image run in the tenant's
/// container on node 1 and on node 2, reach each other over the tenant's network (its VXLAN
/// between the nodes) and share the tenant's /shared directory. Harmless to the cluster; like
/// every cluster test it starts from nodes 1..3 active and connected.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed partial class TenantContainersCrossNodeTests(ClusterFixture cluster) : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);
    private readonly List<(NefeleTenant Tenant, string Npid)> started = [];

    public Task InitializeAsync() => cluster.RestoreAsync(_ => { });

    public async Task DisposeAsync()
    {
        foreach (var (tenant, npid) in started)
        {
            try
            {
                await tenant.KillAsync(npid, Signals.SigKill);
            }
            catch (NefeleException)
            {
                // Ended already.
            }
        }
    }

    [GeneratedRegex(@"inet (10\.(?:24[0-9]|25[0-5])\.\d+\.\d+)/")]
    private static partial Regex TenantAddress();

    /// <summary>scripts/images busybox: the cached tarball of a static busybox root (built once, about 2 s).</summary>
    private static async Task<string> BusyboxTarballAsync()
    {
        var psi = new ProcessStartInfo(Path.Combine(RepoPaths.Root, "scripts", "images"), "busybox") { RedirectStandardOutput = true, RedirectStandardError = true };
        using var images = Process.Start(psi)!;
        var stdout = images.StandardOutput.ReadToEndAsync();
        var stderr = images.StandardError.ReadToEndAsync();
        await images.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        Assert.True(images.ExitCode == 0, $"scripts/images busybox: exit {images.ExitCode}: {await stderr}");
        return (await stdout).Split('\n')[0].Trim();
    }

    /// <summary>The process's output so far, waiting until it holds <paramref name="done"/> or the bound passes.</summary>
    private static async Task<string> OutputUntilAsync(NefeleTenant tenant, string npid, Func<string, bool> done)
    {
        var output = new StringBuilder();
        long offset = 0;
        using var bound = new CancellationTokenSource(Bound);
        while (!done(output.ToString()))
        {
            var chunk = await tenant.ReadLogsAsync(npid, offset, wait: TimeSpan.FromSeconds(5), ct: bound.Token);
            output.Append(Encoding.UTF8.GetString(chunk.Data));
            offset = chunk.NextOffset;
            if (chunk.Complete)
            {
                break;
            }
        }

        return output.ToString();
    }

    [Fact]
    public async Task A_tenants_containers_on_two_nodes_reach_each_other_and_share_its_shared_directory()
    {
        var tenant = await cluster.TenantAsync("ctnet");
        await using (var layer = File.OpenRead(await BusyboxTarballAsync()))
        {
            await tenant.Images.PushAsync("bbox:1", layer).WaitAsync(Bound);
        }

        var marker = Guid.NewGuid().ToString("N");
        var listener = await tenant.SpawnAsync(new ProcessSpec
        {
            Path = "/bin/sh",
            // nc's stdin is a FIFO held open (read-write, so opening it does not block): busybox's
            // nc -l ends as soon as its stdin reads EOF, so with /dev/null it could accept the peer
            // and end before the peer's line arrived.
            Args = ["-c", $"echo {marker} > /shared/cross-node; mkfifo /shared/hold-{marker}; ip -4 -o addr show; echo listening; exec nc -l -p 7070 0<>/shared/hold-{marker}"],
            Image = "bbox:1",
            NoHandshake = true,
            Affinity = [$"label:zone={ClusterFixture.Zone(1)}"],
        }).WaitAsync(Bound);
        started.Add((tenant, listener));
        Assert.Equal(ClusterFixture.NodeName(1), (await tenant.GetAsync(listener)).Node);

        var before = await OutputUntilAsync(tenant, listener, o => o.Contains("listening\n", StringComparison.Ordinal));
        var address = TenantAddress().Match(before);
        Assert.True(address.Success, $"no tenant network address in the container's interfaces: {before}");

        // nc listens right after "listening": the sender tries again while the port is not yet open.
        var sender = await tenant.SpawnAsync(new ProcessSpec
        {
            Path = "/bin/sh",
            Args = ["-c", $"cat /shared/cross-node; for i in $(seq 100); do echo ping-from-2 | nc -w 5 {address.Groups[1].Value} 7070 && exit 0; sleep 0.1; done; exit 1"],
            Image = "bbox:1",
            NoHandshake = true,
            Affinity = [$"label:zone={ClusterFixture.Zone(2)}"],
        }).WaitAsync(Bound);
        started.Add((tenant, sender));
        Assert.Equal(ClusterFixture.NodeName(2), (await tenant.GetAsync(sender)).Node);

        var sent = await tenant.WaitAsync(sender).WaitAsync(Bound);
        var senderOutput = await OutputUntilAsync(tenant, sender, _ => false);
        Assert.True(sent.ExitCode == 0, $"the container on node 2 did not reach {address.Groups[1].Value}:7070 on node 1 (exit {sent.ExitCode}): {senderOutput}");
        Assert.Equal(marker, senderOutput.Split('\n')[0]);

        var heard = await tenant.WaitAsync(listener).WaitAsync(Bound);
        Assert.Equal(0, heard.ExitCode);
        Assert.Contains("ping-from-2", await OutputUntilAsync(tenant, listener, _ => false), StringComparison.Ordinal);
    }
}
