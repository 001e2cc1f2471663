using System.Net;
using System.Net.Sockets;
using System.Text;
using Xunit;

namespace Nefele.HostAgent.Tests;

/// <summary>hostd's liveness port: what other nodes' silos ask when this node's silo is gone.</summary>
public sealed class LivenessListenerTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Every_connection_to_the_liveness_port_gets_the_node_name_and_is_closed()
    {
        var port = FreePort();
        await using var hostd = await HostdInstance.StartAsync("--liveness-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal($"nefele-hostd {hostd.Node}\n", await ReadAllAsync(port));
        }
    }

    [Fact]
    public async Task A_liveness_port_that_is_taken_stops_hostd_naming_the_setting()
    {
        using var taken = new TcpListener(IPAddress.Any, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var e = await Assert.ThrowsAsync<HostAgentStartupException>(() => HostdInstance.StartAsync("--liveness-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Contains($"HostAgent:LivenessPort (--liveness-port) {port}", e.Message, StringComparison.Ordinal);
    }

    private static async Task<string> ReadAllAsync(int port)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port).WaitAsync(Bound);
        using var reader = new StreamReader(client.GetStream(), Encoding.ASCII);
        return await reader.ReadToEndAsync().WaitAsync(Bound);
    }

    /// <summary>A port nothing listens on now (the kernel's choice, released at once).</summary>
    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
