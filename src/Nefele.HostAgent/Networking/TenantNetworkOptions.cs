namespace Nefele.HostAgent.Networking;

/// <summary>
/// How tenant networks are laid out (configuration section <c>HostAgent:TenantNetwork</c>; short
/// flags <c>--tenant-network-pool</c>, <c>--tenant-network-prefix</c>, <c>--tenant-uid-start</c>,
/// <c>--vxlan-port</c>). Every node of a cluster must use the same values: each node works out a
/// tenant's subnet and tunnel id on its own, from the tenant's uid, and they only meet if the
/// nodes agree.
/// </summary>
public sealed class TenantNetworkOptions
{
    public const string SectionName = "HostAgent:TenantNetwork";

    /// <summary>
    /// IPv4 block the tenants' subnets are cut from, in CIDR form. Default <c>10.240.0.0/12</c>: a
    /// private range that home and office networks rarely use. Must be a private (RFC 1918) or
    /// shared (RFC 6598, 100.64.0.0/10) range, aligned on its prefix.
    /// </summary>
    public string Pool { get; set; } = "10.240.0.0/12";

    /// <summary>
    /// Prefix length of each tenant's subnet. Default 22: 1,022 node slots per tenant, and with the
    /// default pool 1,024 tenants. A node's slot is the low <c>32 - prefix</c> bits of its cluster
    /// address, so the nodes' addresses must differ there (they do when the nodes share one /22 or
    /// smaller network, as in <c>scripts/cluster</c>). Allowed: the pool's prefix + 1 to 30.
    /// </summary>
    public int TenantPrefixLength { get; set; } = 22;

    /// <summary>
    /// The first tenant uid, as the silos' <c>Tenants:UidRangeStart</c> (default 200000). A tenant's
    /// index, <c>uid - start</c>, picks its subnet and its tunnel id: the control plane gives every
    /// tenant its own uid, so no two tenants ever share a network.
    /// </summary>
    public uint TenantUidRangeStart { get; set; } = 200000;

    /// <summary>
    /// First VXLAN network identifier; tenant index i tunnels with <c>VniBase + i</c>. Default 1,048,576
    /// (2^20), above the ids people pick by hand. Allowed: 1 to 16,777,214 (VNIs are 24 bits).
    /// </summary>
    public int VniBase { get; set; } = 1 << 20;

    /// <summary>UDP port of the tunnels on every node. Default 4789, the IANA VXLAN port. Allowed: 1 to 65535.</summary>
    public int VxlanPort { get; set; } = 4789;

    /// <summary>
    /// How long a tenant network waits for the silo to say what this node's cluster address is
    /// (it comes with the first peer list, right after the silo attaches). Default 10 s.
    /// Allowed: 0 to 10 min.
    /// </summary>
    public TimeSpan AddressWait { get; set; } = TimeSpan.FromSeconds(10);
}
