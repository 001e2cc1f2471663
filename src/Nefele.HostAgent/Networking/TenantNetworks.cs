using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Networking;

/// <summary>
/// The tenants' networks on this node. Each tenant with a container here has a network namespace
/// whose <c>eth0</c> is a veth into a bridge of its own in the node's namespace; the bridge also
/// holds a VXLAN tunnel with the tenant's VNI over the node's cluster address, with one static
/// forwarding entry per other node (head-end replication, unicast: no multicast needed). So a
/// tenant's namespaces on different nodes share one layer-2 network, and nothing else does:
/// the bridges, tunnels and veth ends in the node's namespace have no address (not even an IPv6
/// link-local one), so the node does not route into them and nothing on it reaches them; the
/// tenant namespace has no route beyond its subnet. <see cref="TenantNetworkPlan"/> holds the
/// arithmetic.
/// </summary>
/// <remarks>
/// Everything is made with iproute2 and found again by name, so it outlives hostd: after a restart
/// the first call adopts what exists (<see cref="RecoverAsync"/>). Calls are serialised (a network
/// is made once per tenant and node; a peer list rarely changes). The peers come from the silo
/// (<see cref="UpdatePeersAsync"/>, the control channel's <c>ClusterPeersUpdate</c>).
/// </remarks>
public sealed partial class TenantNetworks
{
    private readonly TenantNetworkPlan _plan;
    private readonly TenantNetworkOptions _options;
    private readonly string _node;
    private readonly IpRoute _ip;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly Dictionary<int, TenantNetworkInfo> _networks = [];
    private readonly TaskCompletionSource<IPAddress> _selfKnown = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // Networks whose every piece this hostd has made or checked, and those whose tunnel matches the
    // peer list: a warm ensure (a tenant's second container) then runs no command at all.
    private readonly HashSet<int> _verified = [];
    private readonly HashSet<int> _synced = [];
    private ClusterPeersUpdate? _peers;
    private bool _recovered;
    private bool _firewallCurrent;
    private (IPAddress Self, string Device, int TunnelMtu)? _underlay;

    /// <exception cref="ArgumentException">A setting is out of range.</exception>
    public TenantNetworks(TenantNetworkOptions options, string node, IpRoute ip, ILogger<TenantNetworks> logger)
    {
        _plan = new TenantNetworkPlan(options);
        _options = options;
        _node = node;
        _ip = ip;
        _logger = logger;
    }

    public TenantNetworkPlan Plan => _plan;

    /// <summary>This node's cluster address, once the silo has said it.</summary>
    public IPAddress? SelfAddress => _selfKnown.Task.IsCompletedSuccessfully ? _selfKnown.Task.Result : null;

    /// <summary>The other nodes' cluster addresses the tunnels reach now.</summary>
    public IReadOnlyList<string> PeerAddresses => _peers?.PeerAddresses.ToArray() ?? [];

    /// <summary>
    /// The tenant's network on this node, made now if it does not exist (or completed, when an
    /// earlier attempt was cut short). Idempotent. Waits up to
    /// <see cref="TenantNetworkOptions.AddressWait"/> for the silo to tell this node's address.
    /// </summary>
    /// <param name="tenant">For messages only.</param>
    /// <param name="tenantUid">The tenant's own uid (also for a privileged tenant, whose processes run as root): it picks the network.</param>
    /// <exception cref="TenantNetworkException">The tenant cannot have a network here; the message says why.</exception>
    public async Task<TenantNetworkInfo> EnsureAsync(string tenant, uint tenantUid, CancellationToken ct)
    {
        var index = _plan.IndexOf(tenant, tenantUid);
        var self = await SelfAddressAsync(tenant, ct);
        await _lock.WaitAsync(ct);
        try
        {
            await RecoverLockedAsync(ct);
            var slot = _plan.SlotOf(self);
            foreach (var peer in _peers?.PeerAddresses ?? [])
            {
                if (IPAddress.TryParse(peer, out var other) && other.AddressFamily == self.AddressFamily && _plan.SlotOf(other) == slot)
                {
                    throw new TenantNetworkException($"tenant {tenant}: nodes {self} (this one) and {peer} have the same slot {slot} in tenant subnets (their low {32 - _plan.TenantPrefixLength} bits agree); tenant networks need node addresses that differ there");
                }
            }

            if (_verified.Contains(index) && _networks.TryGetValue(index, out var known))
            {
                await BringInLineLockedAsync(index, ct);
                return known;
            }

            var network = await BuildLockedAsync(index, self, slot, ct);
            _networks[index] = network;
            _verified.Add(index);
            await BringInLineLockedAsync(index, ct);
            _logger.LogInformation("Tenant {Tenant} network on node {Node}: {Address}/{Prefix} in {Namespace}, VNI {Vni}, {Peers} peers",
                tenant, _node, network.Address, network.PrefixLength, network.NamespacePath, network.Vni, _peers?.PeerAddresses.Count ?? 0);
            return network;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>
    /// Removes the tenant's network from this node: its namespace, veth, bridge and tunnel. Call it
    /// when the tenant's last container here has stopped. Idempotent; what is already gone is skipped.
    /// </summary>
    /// <exception cref="TenantNetworkException">A piece could not be removed (the message names it).</exception>
    public async Task ReleaseAsync(string tenant, uint tenantUid, CancellationToken ct)
    {
        var index = _plan.IndexOf(tenant, tenantUid);
        await _lock.WaitAsync(ct);
        try
        {
            await RecoverLockedAsync(ct);
            await RemoveLockedAsync(index, ct);
            _networks.Remove(index);
            _verified.Remove(index);
            _synced.Remove(index);
            if (_networks.Count == 0)
            {
                await FirewallLockedAsync(ct);
            }

            _logger.LogInformation("Tenant {Tenant} network on node {Node} removed", tenant, _node);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>
    /// The tenant networks that exist on this node now, adopted (made by this hostd or an earlier
    /// one): their tunnels follow the peer list from here on.
    /// </summary>
    public async Task<IReadOnlyList<TenantNetworkInfo>> RecoverAsync(CancellationToken ct)
    {
        await _lock.WaitAsync(ct);
        try
        {
            await RecoverLockedAsync(ct);
            return _networks.Values.OrderBy(n => n.Index).ToArray();
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>
    /// Takes the silo's list of the cluster's nodes (an older version than the one held is ignored)
    /// and makes every tunnel on this node reach exactly those nodes.
    /// </summary>
    /// <returns>null, or why the update was refused (bad addresses).</returns>
    public async Task<string?> UpdatePeersAsync(ClusterPeersUpdate update, CancellationToken ct)
    {
        if (!IPAddress.TryParse(update.SelfAddress, out var self))
        {
            return $"peers: self_address '{update.SelfAddress}' is not an IP address";
        }

        var bad = update.PeerAddresses.FirstOrDefault(a => !IPAddress.TryParse(a, out _));
        if (bad is not null)
        {
            return $"peers: peer address '{bad}' is not an IP address";
        }

        await _lock.WaitAsync(ct);
        try
        {
            if (_peers is not null && update.Version < _peers.Version)
            {
                return null;
            }

            var clean = new ClusterPeersUpdate { Version = update.Version, SelfAddress = self.ToString() };
            clean.PeerAddresses.AddRange(update.PeerAddresses
                .Select(a => IPAddress.Parse(a).ToString())
                .Where(a => a != clean.SelfAddress)
                .Distinct(StringComparer.Ordinal)
                .Order(StringComparer.Ordinal));
            if (_peers is null || !_peers.PeerAddresses.SequenceEqual(clean.PeerAddresses) || _peers.SelfAddress != clean.SelfAddress)
            {
                _logger.LogInformation("Node {Node} at {Self}: cluster peers {Peers} (membership version {Version})",
                    _node, clean.SelfAddress, string.Join(", ", clean.PeerAddresses), clean.Version);
            }

            if (_peers is null || !_peers.PeerAddresses.SequenceEqual(clean.PeerAddresses))
            {
                _synced.Clear();
                _firewallCurrent = false;
            }

            _peers = clean;
            if (!_selfKnown.TrySetResult(self) && !_selfKnown.Task.Result.Equals(self))
            {
                _logger.LogWarning("The silo now says node {Node}'s cluster address is {New}; its tunnels keep starting at {Old} until they are made again",
                    _node, self, _selfKnown.Task.Result);
            }

            try
            {
                await RecoverLockedAsync(ct);

                // The firewall first: once a node that left is shut out, the tunnels cannot learn it again
                // from its packets still on the way while its entries are dropped.
                if (_networks.Count > 0 && !_firewallCurrent)
                {
                    await FirewallLockedAsync(ct);
                }

                await SyncPeersLockedAsync(_networks.Keys.Where(i => !_synced.Contains(i)).ToArray(), ct);
            }
            catch (TenantNetworkException e)
            {
                // The list is kept: each tunnel is brought in line again when its tenant's network is next ensured.
                _logger.LogWarning("Node {Node} could not bring its tenant networks' tunnels in line with the peer list: {Error}", _node, e.Message);
            }

            return null;
        }
        finally
        {
            _lock.Release();
        }
    }

    private async Task<IPAddress> SelfAddressAsync(string tenant, CancellationToken ct)
    {
        try
        {
            return await _selfKnown.Task.WaitAsync(_options.AddressWait, ct);
        }
        catch (TimeoutException)
        {
            throw new TenantNetworkException($"tenant {tenant}: node {_node} does not know its cluster address yet (its silo sends it when it attaches; waited {_options.AddressWait.TotalSeconds} s)");
        }
    }

    /// <summary>Firewall and tunnel entries of a network made to match the peer list, when they do not yet.</summary>
    private async Task BringInLineLockedAsync(int index, CancellationToken ct)
    {
        if (!_firewallCurrent)
        {
            await FirewallLockedAsync(ct);
        }

        if (!_synced.Contains(index))
        {
            await SyncPeersLockedAsync([index], ct);
        }
    }

    /// <summary>Makes what is missing of the network: five commands for a new one (one batch per namespace).</summary>
    private async Task<TenantNetworkInfo> BuildLockedAsync(int index, IPAddress self, int slot, CancellationToken ct)
    {
        var name = TenantNetworkPlan.NamespaceName(_node, index);
        var bridge = TenantNetworkPlan.BridgeName(index);
        var tunnel = TenantNetworkPlan.TunnelName(index);
        var veth = TenantNetworkPlan.VethName(index);
        var links = await LinksAsync(ct);

        if (!File.Exists(NamespacePath(name)))
        {
            await _ip.NetnsAsync(["add", name], ct);
        }

        var underlay = await UnderlayAsync(self, ct);
        var node = new List<string>();
        if (!links.ContainsKey(bridge))
        {
            // No address on the bridge, not even IPv6 link-local (addrgenmode none before up): the node must not reach in.
            node.Add($"link add {bridge} type bridge");
            node.Add($"link set {bridge} addrgenmode none");
            node.Add($"link set {bridge} up");
        }

        var freshTunnel = !links.ContainsKey(tunnel);
        if (freshTunnel)
        {
            node.Add($"link add {tunnel} type vxlan id {_plan.Vni(index)} local {self} dev {underlay.Device} dstport {_plan.VxlanPort}");
            node.Add($"link set {tunnel} addrgenmode none");
            node.Add($"link set {tunnel} master {bridge}");
            node.Add($"link set {tunnel} up");
        }

        if (!links.ContainsKey(veth))
        {
            var mtu = underlay.TunnelMtu;
            node.Add($"link add {veth} mtu {mtu} type veth peer name {TenantNetworkPlan.NamespaceInterface} mtu {mtu} netns {name}");
            node.Add($"link set {veth} addrgenmode none");
            node.Add($"link set {veth} master {bridge}");
            node.Add($"link set {veth} up");
        }

        if (node.Count > 0)
        {
            await _ip.IpBatchAsync(node, ct);
        }

        var address = _plan.Address(index, slot);
        await _ip.IpBatchAsync(
        [
            "link set lo up",
            $"addr replace {address}/{_plan.TenantPrefixLength} dev {TenantNetworkPlan.NamespaceInterface}",
            $"link set {TenantNetworkPlan.NamespaceInterface} up",
        ], ct, netns: name);
        var network = new TenantNetworkInfo(index, NamespacePath(name), address, _plan.TenantPrefixLength, _plan.Subnet(index), _plan.Vni(index));
        _networks[index] = network;
        if (freshTunnel && _peers is not null && !_firewallCurrent)
        {
            // Shut out whoever is not a peer before the new tunnel can hear anyone.
            await FirewallLockedAsync(ct);
        }

        if (freshTunnel && _peers is not null)
        {
            // A new tunnel has no entries: only the peers' go in, with no look first.
            if (_peers.PeerAddresses.Count > 0)
            {
                await _ip.BridgeBatchAsync(_peers.PeerAddresses.Select(p => $"fdb append {FloodMac} dev {tunnel} dst {p}").ToArray(), ct);
            }

            _synced.Add(index);
        }

        return network;
    }

    private async Task RemoveLockedAsync(int index, CancellationToken ct)
    {
        // The links first: deleting the veth here takes its end in the namespace with it at once,
        // whereas a deleted namespace's links go later, in the kernel's own time.
        var links = await LinksAsync(ct);
        var gone = new[] { TenantNetworkPlan.VethName(index), TenantNetworkPlan.TunnelName(index), TenantNetworkPlan.BridgeName(index) }
            .Where(links.ContainsKey)
            .Select(l => $"link del {l}")
            .ToArray();
        if (gone.Length > 0)
        {
            await _ip.IpBatchAsync(gone, ct);
        }

        var name = TenantNetworkPlan.NamespaceName(_node, index);
        if (File.Exists(NamespacePath(name)))
        {
            await _ip.NetnsAsync(["del", name], ct);
        }
    }

    /// <summary>Adopts the tenant networks on this node (once per hostd): a tunnel and its namespace, both ours.</summary>
    private async Task RecoverLockedAsync(CancellationToken ct)
    {
        if (_recovered)
        {
            return;
        }

        var links = await LinksAsync(ct);
        foreach (var (link, _) in links)
        {
            if (TenantNetworkPlan.IndexOfTunnel(link) is not { } index || index >= _plan.Capacity || _networks.ContainsKey(index))
            {
                continue;
            }

            var name = TenantNetworkPlan.NamespaceName(_node, index);
            if (!File.Exists(NamespacePath(name)))
            {
                continue;
            }

            var address = await NamespaceAddressAsync(name, ct);
            _networks[index] = new TenantNetworkInfo(index, NamespacePath(name), address ?? IPAddress.None, _plan.TenantPrefixLength, _plan.Subnet(index), _plan.Vni(index));
        }

        _recovered = true;
        if (_networks.Count > 0)
        {
            _logger.LogInformation("Adopted {Count} tenant networks on node {Node}: {Namespaces}",
                _networks.Count, _node, string.Join(", ", _networks.Values.Select(n => n.NamespacePath)));
        }
    }

    /// <summary>
    /// Makes the tunnels' flood entries (all-zero MAC, one per node) match the peer list, and drops
    /// what they learned about nodes no longer on it, so a node that left is no longer sent anything.
    /// One look and one batch for all the tunnels given, however many.
    /// </summary>
    private async Task SyncPeersLockedAsync(int[] indexes, CancellationToken ct)
    {
        if (_peers is null || indexes.Length == 0)
        {
            return;
        }

        var tunnels = indexes.ToDictionary(TenantNetworkPlan.TunnelName, i => i, StringComparer.Ordinal);
        var shown = await _ip.BridgeAsync(["fdb", "show"], ct);
        var entries = FdbEntry().Matches(shown)
            .Select(m => (Mac: m.Groups[1].Value, Tunnel: m.Groups[2].Value, Dst: m.Groups[3].Value))
            .Where(e => tunnels.ContainsKey(e.Tunnel))
            .ToArray();
        var want = _peers.PeerAddresses.ToHashSet(StringComparer.Ordinal);
        var lines = new List<string>();
        foreach (var tunnel in tunnels.Keys)
        {
            var flooded = entries.Where(e => e.Tunnel == tunnel && e.Mac == FloodMac).Select(e => e.Dst).ToHashSet(StringComparer.Ordinal);
            lines.AddRange(want.Except(flooded).Select(p => $"fdb append {FloodMac} dev {tunnel} dst {p}"));
        }

        lines.AddRange(entries.Where(e => !want.Contains(e.Dst)).Select(e => $"fdb del {e.Mac} dev {e.Tunnel} dst {e.Dst}"));
        if (lines.Count > 0)
        {
            await _ip.BridgeBatchAsync(lines, ct);
            _logger.LogDebug("Tunnels on node {Node}: {Changes}", _node, string.Join("; ", lines));
        }

        _synced.UnionWith(indexes);
    }

    /// <summary>
    /// The tunnels' firewall in the node's namespace (table <c>inet nefele_tenantnet</c>, replaced
    /// whole in one transaction): tunnel packets are taken only from the peer nodes, and only the
    /// kernel's tunnels (root) may send to the tunnel port. VXLAN carries no authentication, so
    /// without it any host on the network, or a tenant's process outside a container on a node,
    /// could put frames into another tenant's network. Removed with the node's last tenant network.
    /// </summary>
    private async Task FirewallLockedAsync(CancellationToken ct)
    {
        if (_networks.Count == 0)
        {
            _firewallCurrent = false;
            await _ip.NftAsync($"table inet {FirewallTable}\ndelete table inet {FirewallTable}\n", ct);
            return;
        }

        var peers = _peers?.PeerAddresses.Where(a => IPAddress.Parse(a).AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork).ToArray() ?? [];
        var elements = peers.Length == 0 ? "" : $" elements = {{ {string.Join(", ", peers)} }};";
        var port = _plan.VxlanPort;
        await _ip.NftAsync(
            $"table inet {FirewallTable}\n"
            + $"delete table inet {FirewallTable}\n"
            + $"table inet {FirewallTable} {{\n"
            + $"  set peers {{ type ipv4_addr;{elements} }}\n"
            + $"  chain input {{ type filter hook input priority 0; policy accept; udp dport {port} ip saddr != @peers drop; }}\n"
            + $"  chain output {{ type filter hook output priority 0; policy accept; udp dport {port} meta skuid != 0 drop; }}\n"
            + "}\n",
            ct);
        _firewallCurrent = _peers is not null;
    }

    /// <summary>Links of the node's namespace by name (the part before any @peer), with their one-line descriptions.</summary>
    private async Task<Dictionary<string, string>> LinksAsync(CancellationToken ct)
    {
        var shown = await _ip.IpAsync(["-o", "link", "show"], ct);
        var links = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in shown.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var m = LinkLine().Match(line);
            if (m.Success)
            {
                links[m.Groups[1].Value] = line;
            }
        }

        return links;
    }

    /// <summary>The interface holding the node's cluster address, and the MTU a tunnel over it leaves (looked up once).</summary>
    private async Task<(IPAddress Self, string Device, int TunnelMtu)> UnderlayAsync(IPAddress self, CancellationToken ct)
    {
        if (_underlay is { } known && known.Self.Equals(self))
        {
            return known;
        }

        var shown = await _ip.IpAsync(["-o", "-4", "addr", "show", "to", $"{self}/32"], ct);
        var m = AddrLine().Match(shown);
        if (!m.Success)
        {
            throw new TenantNetworkException($"node {_node}'s cluster address {self} is on none of the interfaces of hostd's network namespace");
        }

        var device = m.Groups[1].Value.Split('@')[0];
        var link = await _ip.IpAsync(["-o", "link", "show", "dev", device], ct);
        var mtu = MtuPart().Match(link);
        if (!mtu.Success)
        {
            throw new TenantNetworkException($"{device} shows no MTU: {link.Trim()}");
        }

        // VXLAN over IPv4 adds 50 bytes: outer IPv4 (20), UDP (8), VXLAN (8) and the inner Ethernet header (14).
        var underlay = (self, device, int.Parse(mtu.Groups[1].Value, CultureInfo.InvariantCulture) - 50);
        _underlay = underlay;
        return underlay;
    }

    private async Task<IPAddress?> NamespaceAddressAsync(string name, CancellationToken ct)
    {
        var shown = await _ip.IpAsync(["-o", "-4", "addr", "show", "dev", TenantNetworkPlan.NamespaceInterface], ct, netns: name);
        var m = InetPart().Match(shown);
        return m.Success ? IPAddress.Parse(m.Groups[1].Value) : null;
    }

    private static string NamespacePath(string name) => Path.Combine("/run/netns", name);

    private const string FloodMac = "00:00:00:00:00:00";

    /// <summary>The nftables table of the tunnels' firewall.</summary>
    public const string FirewallTable = "nefele_tenantnet";

    [GeneratedRegex(@"^([0-9a-f]{2}(?::[0-9a-f]{2}){5}) dev (\S+) dst (\S+)", RegexOptions.Multiline)]
    private static partial Regex FdbEntry();

    [GeneratedRegex(@"^\d+:\s+([^:@\s]+)")]
    private static partial Regex LinkLine();

    [GeneratedRegex(@"^\d+:\s+(\S+)\s+inet\s", RegexOptions.Multiline)]
    private static partial Regex AddrLine();

    [GeneratedRegex(@"\smtu (\d+)\s")]
    private static partial Regex MtuPart();

    [GeneratedRegex(@"\sinet (\d+\.\d+\.\d+\.\d+)/")]
    private static partial Regex InetPart();
}
