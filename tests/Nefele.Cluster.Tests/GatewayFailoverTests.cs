using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Nefele.Client;
using Nefele.Placement;
using Nefele.Processes;
using Orleans.Configuration;
using Xunit;

namespace Nefele.Cluster.Tests;

/// <summary>An SDK program given several gateways carries on through the others when one's node is killed.</summary>
public sealed partial class ClusterTests
{
    /// <summary>The gateways of the program in the failover test: node 2's (killed), then node 3's.</summary>
    private static readonly int[] GatewayNodes = [2, 3];

    /// <summary>
    /// Monitors connected through node 2's and node 3's gateways watch processes on node 1; node 2
    /// is killed, then (once its gateway refuses connections) the processes are killed through node
    /// 1's API. Every monitor still hears each event once and ends with the SIGKILL exit; those whose
    /// poll was in flight on node 2 ask again through node 3 as soon as the link closes, instead of
    /// waiting out the poll (scripts/bench failover measures how soon).
    /// </summary>
    [Fact]
    public async Task Sdk_monitors_carry_on_through_another_gateway_when_their_gateways_node_is_killed()
    {
        var tenant = await NewTenantAsync(cluster);
        var npids = (await tenant.SubmitAsync(new SpawnRequest { Tasks = [Sleeper(node: 1)], Count = 6 }).WaitAsync(Bound)).Npids;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(180));
        var killed = false;
        Task<string>? kill = null;
        try
        {
            var gateways = GatewayNodes.Select(k => new IPEndPoint(IPAddress.Parse($"{ClusterFixture.Subnet}.{10 + k}"), 30000)).ToArray();
            await using var connection = await NefeleConnection.ConnectAsync(cluster.Options(gateways)).WaitAsync(Bound);
            var watcher = connection.Tenant(tenant.Name);
            var stopwatch = new Stopwatch();
            var monitors = new List<Task<(string Npid, List<ProcessEvent> Events, TimeSpan At)>>();
            foreach (var npid in npids)
            {
                var running = new TaskCompletionSource();
                var monitor = Monitor(watcher, npid, running, cts.Token);
                await running.Task.WaitAsync(cts.Token);
                monitors.Add(monitor.ContinueWith(t => (npid, t.Result, stopwatch.Elapsed), TaskScheduler.Default));
            }

            killed = true;
            kill = cluster.ScriptAsync("kill", "2");
            await Eventually.Until(() => RefusesAsync(gateways[0]), Bound, "node 2's gateway refuses connections");
            stopwatch.Start();
            foreach (var npid in npids)
            {
                // A grain on node 2's silo cannot be reached until the cluster declares that silo dead: asked again until then.
                var answer = "none";
                await Eventually.Until(async () =>
                {
                    var (status, body) = await cluster.PostJsonAsync($"/v1/tenants/{tenant.Name}/processes/{npid}/signal", new { signal = Signals.SigKill });
                    answer = $"{status} {body}";
                    return status == 204;
                }, Bound, $"SIGKILL to {npid} through node 1 accepted");
                output.WriteLine($"{npid} killed through node 1 after {stopwatch.Elapsed.TotalSeconds:0.0} s ({answer})");
            }

            var told = await Task.WhenAll(monitors).WaitAsync(LostBound, cts.Token);
            var summary = $"monitors told after {string.Join(", ", told.Select(t => $"{t.At.TotalSeconds:0.0} s"))}: "
                + string.Join("; ", told.Select(t => $"{t.Npid}: {Describe(t.Events)}"));
            output.WriteLine(summary);
            foreach (var (_, events, _) in told)
            {
                Assert.True(events.Select(e => e.Seq).Distinct().Count() == events.Count, summary);
                Assert.True(events[^1].State == ProcessState.Exited && events[^1].End!.Signal == Signals.SigKill, summary);
            }

            await kill;
        }
        finally
        {
            await cts.CancelAsync();
            if (killed)
            {
                if (kill is not null)
                {
                    await kill.ContinueWith(_ => { }, TaskScheduler.Default);
                }

                await cluster.ScriptAsync("start", "2");
                await cluster.WaitForNodesAsync([1, 2, 3], ClusterFixture.RejoinBound);
            }

            await Cleanup.KillAsync(tenant, npids);
        }
    }

    private static async Task<bool> RefusesAsync(IPEndPoint endpoint)
    {
        using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await socket.ConnectAsync(endpoint, bounded.Token);
            return false;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }
}
