using Nefele.HostAgent.Networking;

namespace Nefele.HostAgent.Tests.Networking;

/// <summary>Tenant networks on two simulated nodes, in real network namespaces, reached over TCP.</summary>
public sealed class TenantNetworkTests(SimulatedNodes nodes) : IClassFixture<SimulatedNodes>
{
    private const uint UidStart = 200000;
    private const int Port = 7000;
    private static readonly CancellationToken Ct = CancellationToken.None;

    [SkippableFact]
    public async Task A_tenants_namespaces_on_two_nodes_reach_each_other()
    {
        Skip.If(SimulatedNodes.Missing is not null, SimulatedNodes.Missing);
        const uint uid = UidStart + 11;
        try
        {
            var on1 = await nodes.Node1.EnsureAsync("alpha", uid, Ct);
            var on2 = await nodes.Node2.EnsureAsync("alpha", uid, Ct);

            Assert.Equal(on1.Subnet, on2.Subnet);
            Assert.Equal(on1.Vni, on2.Vni);
            Assert.NotEqual(on1.Address, on2.Address);
            using var listener = await Probe.ListenAsync(on2.NamespacePath, Port);
            var (connected, output) = await Probe.ConnectAsync(on1.NamespacePath, on2.Address.ToString(), Port);
            Assert.True(connected, output);
        }
        finally
        {
            await nodes.Node1.ReleaseAsync("alpha", uid, Ct);
            await nodes.Node2.ReleaseAsync("alpha", uid, Ct);
        }
    }

    [SkippableFact]
    public async Task Another_tenant_does_not_reach_them_even_with_an_address_in_their_subnet()
    {
        Skip.If(SimulatedNodes.Missing is not null, SimulatedNodes.Missing);
        const uint a = UidStart + 21, b = UidStart + 22;
        try
        {
            var a2 = await nodes.Node2.EnsureAsync("alpha", a, Ct);
            await nodes.Node1.EnsureAsync("alpha", a, Ct);
            var b1 = await nodes.Node1.EnsureAsync("beta", b, Ct);
            var b2 = await nodes.Node2.EnsureAsync("beta", b, Ct);
            Assert.NotEqual(a2.Subnet, b2.Subnet);
            using var listener = await Probe.ListenAsync(a2.NamespacePath, Port);

            // Its own network works ...
            using (await Probe.ListenAsync(b2.NamespacePath, Port))
            {
                Assert.True((await Probe.ConnectAsync(b1.NamespacePath, b2.Address.ToString(), Port)).Connected);
            }

            // ... there is no route to the other's subnet ...
            var (connected, output) = await Probe.ConnectAsync(b1.NamespacePath, a2.Address.ToString(), Port);
            Assert.False(connected, output);

            // ... and taking an address in it (root in its own namespace can) reaches no one: the layer 2 is apart.
            var spare = nodes.Node1.Plan.Address(a2.Index, nodes.Node1.Plan.MaxSlot);
            await SimulatedNodes.Sh($"ip -n {Path.GetFileName(b1.NamespacePath)} addr add {spare}/{a2.PrefixLength} dev eth0");
            (connected, output) = await Probe.ConnectAsync(b1.NamespacePath, a2.Address.ToString(), Port, timeoutSeconds: 2);
            Assert.False(connected, output);
        }
        finally
        {
            foreach (var (tenant, uid) in new[] { ("alpha", a), ("beta", b) })
            {
                await nodes.Node1.ReleaseAsync(tenant, uid, Ct);
                await nodes.Node2.ReleaseAsync(tenant, uid, Ct);
            }
        }
    }

    [SkippableFact]
    public async Task The_nodes_themselves_do_not_reach_a_tenant_namespace()
    {
        Skip.If(SimulatedNodes.Missing is not null, SimulatedNodes.Missing);
        const uint uid = UidStart + 31;
        try
        {
            var on2 = await nodes.Node2.EnsureAsync("alpha", uid, Ct);
            using var listener = await Probe.ListenAsync(on2.NamespacePath, Port);

            foreach (var k in new[] { 1, 2 })
            {
                var (connected, output) = await Probe.ConnectAsync($"/run/netns/{nodes.NodeNamespace(k)}", on2.Address.ToString(), Port);
                Assert.False(connected, $"node {k} reached {on2.Address}: {output}");
            }

            // Nor the machine (the test's own namespace), and the node side holds no address at all, not even IPv6 link-local.
            Assert.False((await Probe.ConnectAsync(null, on2.Address.ToString(), Port)).Connected);
            foreach (var link in new[] { TenantNetworkPlan.BridgeName(on2.Index), TenantNetworkPlan.TunnelName(on2.Index), TenantNetworkPlan.VethName(on2.Index) })
            {
                Assert.Equal("", (await SimulatedNodes.Sh($"ip -n {nodes.NodeNamespace(2)} -o addr show dev {link}")).Trim());
            }
        }
        finally
        {
            await nodes.Node2.ReleaseAsync("alpha", uid, Ct);
        }
    }

    [SkippableFact]
    public async Task Tunnels_follow_the_peer_list_as_nodes_leave_and_return()
    {
        Skip.If(SimulatedNodes.Missing is not null, SimulatedNodes.Missing);
        const uint uid = UidStart + 41;
        var node1 = nodes.Restarted(1);
        var node2 = nodes.Restarted(2);
        try
        {
            Assert.Null(await node1.UpdatePeersAsync(nodes.Peers(1, 10, 2), Ct));
            Assert.Null(await node2.UpdatePeersAsync(nodes.Peers(2, 10, 1), Ct));
            var on1 = await node1.EnsureAsync("alpha", uid, Ct);
            var on2 = await node2.EnsureAsync("alpha", uid, Ct);
            using var listener = await Probe.ListenAsync(on2.NamespacePath, Port);
            Assert.True((await Probe.ConnectAsync(on1.NamespacePath, on2.Address.ToString(), Port)).Connected);

            // The cluster lost node 2 (each side's silo says so): node 1 sends it nothing, what it learned included.
            Assert.Null(await node1.UpdatePeersAsync(nodes.Peers(1, 11), Ct));
            Assert.Null(await node2.UpdatePeersAsync(nodes.Peers(2, 11), Ct));
            var fdb = await SimulatedNodes.Sh($"bridge -n {nodes.NodeNamespace(1)} fdb show dev {TenantNetworkPlan.TunnelName(on1.Index)}");
            Assert.DoesNotContain($"dst {nodes.NodeAddress(2)}", fdb);
            var (connected, output) = await Probe.ConnectAsync(on1.NamespacePath, on2.Address.ToString(), Port, timeoutSeconds: 2);
            Assert.False(connected, output);

            // An older list arriving late changes nothing; the next one brings node 2 back.
            Assert.Null(await node1.UpdatePeersAsync(nodes.Peers(1, 9, 2), Ct));
            Assert.Empty(node1.PeerAddresses);
            Assert.Null(await node1.UpdatePeersAsync(nodes.Peers(1, 12, 2), Ct));
            Assert.Null(await node2.UpdatePeersAsync(nodes.Peers(2, 12, 1), Ct));
            Assert.Equal([nodes.NodeAddress(2)], node1.PeerAddresses);
            Assert.True((await Probe.ConnectAsync(on1.NamespacePath, on2.Address.ToString(), Port)).Connected);
        }
        finally
        {
            await node1.ReleaseAsync("alpha", uid, Ct);
            await node2.ReleaseAsync("alpha", uid, Ct);
        }
    }

    [SkippableFact]
    public async Task Ensure_is_idempotent_a_restarted_hostd_adopts_and_release_removes_everything()
    {
        Skip.If(SimulatedNodes.Missing is not null, SimulatedNodes.Missing);
        const uint uid = UidStart + 51;
        var first = await nodes.Node1.EnsureAsync("alpha", uid, Ct);
        var again = await nodes.Node1.EnsureAsync("alpha", uid, Ct);
        Assert.Equal(first, again);

        // A new hostd on the node finds the network and makes nothing twice.
        var restarted = nodes.Restarted(1);
        Assert.Null(await restarted.UpdatePeersAsync(nodes.Peers(1, 20, 2), Ct));
        var adopted = Assert.Single(await restarted.RecoverAsync(Ct), n => n.Index == first.Index);
        Assert.Equal(first, adopted);
        Assert.Equal(first, await restarted.EnsureAsync("alpha", uid, Ct));
        Assert.Single((await SimulatedNodes.Sh($"ip -n {Path.GetFileName(first.NamespacePath)} -o -4 addr show dev eth0")).Trim().Split('\n'));

        await restarted.ReleaseAsync("alpha", uid, Ct);
        Assert.False(File.Exists(first.NamespacePath));
        var links = await SimulatedNodes.Sh($"ip -n {nodes.NodeNamespace(1)} -o link show");
        Assert.DoesNotContain(TenantNetworkPlan.BridgeName(first.Index) + ":", links);
        Assert.DoesNotContain(TenantNetworkPlan.TunnelName(first.Index) + ":", links);
        Assert.DoesNotContain(TenantNetworkPlan.VethName(first.Index) + "@", links);
        await restarted.ReleaseAsync("alpha", uid, Ct);
    }

    [SkippableFact]
    public async Task A_network_waits_for_the_node_address_and_then_fails_with_the_reason()
    {
        Skip.If(SimulatedNodes.Missing is not null, SimulatedNodes.Missing);
        var fresh = new TenantNetworks(new TenantNetworkOptions { AddressWait = TimeSpan.FromMilliseconds(200) }, nodes.NodeName(1),
            new IpRoute(nodes.NodeNamespace(1)), Microsoft.Extensions.Logging.Abstractions.NullLogger<TenantNetworks>.Instance);
        var e = await Assert.ThrowsAsync<TenantNetworkException>(() => fresh.EnsureAsync("alpha", UidStart + 61, Ct));
        Assert.Contains("cluster address", e.Message);
        Assert.Contains("bad", (await fresh.UpdatePeersAsync(new Protocol.V1.ClusterPeersUpdate { SelfAddress = "bad" }, Ct))!);
        Assert.Null(fresh.SelfAddress);
        Assert.False(File.Exists($"/run/netns/{TenantNetworkPlan.NamespaceName(nodes.NodeName(1), 61)}"));
    }

    [SkippableFact]
    public async Task Only_peer_nodes_and_the_kernels_tunnels_use_the_tunnel_port()
    {
        Skip.If(SimulatedNodes.Missing is not null, SimulatedNodes.Missing);
        const uint uid = UidStart + 71;
        var node1 = nodes.Restarted(1);
        try
        {
            Assert.Null(await node1.UpdatePeersAsync(nodes.Peers(1, 30, 2), Ct));
            await node1.EnsureAsync("alpha", uid, Ct);
            var ns = $"/run/netns/{nodes.NodeNamespace(1)}";
            var set = await SimulatedNodes.Sh($"nsenter --net={ns} nft list set inet {TenantNetworks.FirewallTable} peers");
            Assert.Contains(nodes.NodeAddress(2), set);

            // A process of an unprivileged uid on the node (a tenant's, outside any container) cannot
            // send to the tunnel port, so it cannot put frames into a tenant network; root can.
            var send = $"import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x' * 16, ('{nodes.NodeAddress(2)}', 4789))";
            var refused = await SimulatedNodes.Sh($"nsenter --net={ns} setpriv --reuid 65534 --regid 65534 --clear-groups {Probe.Python} -c \"{send}\" 2>&1; echo exit=$?", check: false);
            Assert.Contains("PermissionError", refused);
            var allowed = await SimulatedNodes.Sh($"nsenter --net={ns} {Probe.Python} -c \"{send}\" 2>&1; echo exit=$?", check: false);
            Assert.Contains("exit=0", allowed);

            // The node's last tenant network takes the firewall with it.
            await node1.ReleaseAsync("alpha", uid, Ct);
            var tables = await SimulatedNodes.Sh($"nsenter --net={ns} nft list tables");
            Assert.DoesNotContain(TenantNetworks.FirewallTable, tables);
        }
        finally
        {
            await node1.ReleaseAsync("alpha", uid, Ct);
        }
    }
}
