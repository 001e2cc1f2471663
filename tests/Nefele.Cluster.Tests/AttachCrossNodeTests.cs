using System.Net.WebSockets;
using System.Text;
using Nefele.Client;
using Xunit;

namespace Nefele.Cluster.Tests;

/// <summary>
/// The attach WebSocket on one node onto a tty process on another: output followed from the
/// process's node, input and a resize carried there by grain calls, the close when it ends.
/// Harmless to the cluster; like every cluster test it starts from nodes 1..3 active and connected.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class AttachCrossNodeTests(ClusterFixture cluster) : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    public Task InitializeAsync() => cluster.RestoreAsync(_ => { });

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Attach_through_node_1_types_into_and_resizes_a_tty_process_on_node_3_and_closes_with_its_end()
    {
        var name = "t" + Guid.NewGuid().ToString("N")[..10];
        var tenant = await cluster.TenantAsync(name);
        var npid = await tenant.SpawnAsync(new ProcessSpec
        {
            Path = "/bin/sh",
            Tty = true,
            Affinity = [$"label:zone={ClusterFixture.Zone(3)}"],
        }).WaitAsync(Bound);
        try
        {
            Assert.Equal(ClusterFixture.NodeName(3), (await tenant.GetAsync(npid)).Node);

            using var socket = new ClientWebSocket();
            socket.Options.SetRequestHeader("Authorization", "Bearer " + cluster.AdminKey);
            var api = new Uri(ClusterFixture.Api(1));
            using (var connect = new CancellationTokenSource(Bound))
            {
                await socket.ConnectAsync(new Uri($"ws://{api.Authority}/v1/tenants/{name}/processes/{npid}/attach"), connect.Token);
            }

            await socket.SendAsync("""{"resize":{"rows":21,"cols":83}}"""u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
            await socket.SendAsync("stty size; echo across-$((20+3))\n"u8.ToArray(), WebSocketMessageType.Binary, true, CancellationToken.None);
            var seen = new StringBuilder();
            var buffer = new byte[16 * 1024];
            using var timeout = new CancellationTokenSource(Bound);
            while (!seen.ToString().Contains("across-23", StringComparison.Ordinal))
            {
                var received = await socket.ReceiveAsync(buffer, timeout.Token);
                Assert.Equal(WebSocketMessageType.Binary, received.MessageType);
                seen.Append(Encoding.UTF8.GetString(buffer, 0, received.Count));
            }

            Assert.Contains("21 83", seen.ToString(), StringComparison.Ordinal);

            await socket.SendAsync("exit 9\n"u8.ToArray(), WebSocketMessageType.Binary, true, CancellationToken.None);
            while ((await socket.ReceiveAsync(buffer, timeout.Token)).MessageType != WebSocketMessageType.Close)
            {
            }

            Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
            Assert.Equal("exited 9", socket.CloseStatusDescription);
        }
        finally
        {
            try
            {
                await tenant.KillAsync(npid, Signals.SigKill);
            }
            catch (NefeleException e) when (e.Code is ErrorCodes.NotRunning or ErrorCodes.NpidNotFound)
            {
            }
        }
    }
}
