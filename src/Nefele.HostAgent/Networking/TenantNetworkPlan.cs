using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Nefele.HostAgent.Networking;

/// <summary>
/// The arithmetic of tenant networks, written once: which subnet and tunnel id a tenant has, which
/// address a node takes in it, and what the pieces on a node are called. Pure, so every node gets
/// the same answers from the same <see cref="TenantNetworkOptions"/>.
/// </summary>
/// <remarks>
/// Tenant index <c>i = uid - TenantUidRangeStart</c>. Its subnet is the i-th block of
/// <c>TenantPrefixLength</c> bits in the pool; its VNI is <c>VniBase + i</c>. A node's address in
/// the subnet is the subnet plus the node's slot, the low <c>32 - TenantPrefixLength</c> bits of
/// the node's cluster address. On the node: bridge <c>nfb&lt;i&gt;</c>, tunnel <c>nfx&lt;i&gt;</c>, the
/// bridge's end of the veth <c>nfv&lt;i&gt;</c> (names stay within the kernel's 15 characters), and
/// the network namespace <c>nefele-&lt;node&gt;-t&lt;i&gt;</c> under /run/netns, whose end is <c>eth0</c>.
/// </remarks>
public sealed class TenantNetworkPlan
{
    /// <summary>Largest VXLAN network identifier (24 bits).</summary>
    public const int MaxVni = (1 << 24) - 1;

    private readonly uint _pool;
    private readonly TenantNetworkOptions _options;

    /// <exception cref="ArgumentException">A setting is out of range (the message names it and what is allowed).</exception>
    public TenantNetworkPlan(TenantNetworkOptions options)
    {
        _options = options;
        var s = TenantNetworkOptions.SectionName;
        if (!TryParseCidr(options.Pool, out _pool, out var poolPrefix))
        {
            throw new ArgumentException($"{s}:Pool (--tenant-network-pool) '{options.Pool}' is not an IPv4 block in CIDR form aligned on its prefix, e.g. 10.240.0.0/12");
        }

        if (!IsPrivate(_pool, poolPrefix))
        {
            throw new ArgumentException($"{s}:Pool (--tenant-network-pool) {options.Pool} must lie within 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10");
        }

        PoolPrefixLength = poolPrefix;
        if (options.TenantPrefixLength <= poolPrefix || options.TenantPrefixLength > 30)
        {
            throw new ArgumentException($"{s}:TenantPrefixLength (--tenant-network-prefix) {options.TenantPrefixLength} must be between {poolPrefix + 1} (the pool's prefix + 1) and 30");
        }

        if (options.VniBase < 1 || options.VniBase > MaxVni - 1)
        {
            throw new ArgumentException($"{s}:VniBase {options.VniBase} must be between 1 and {MaxVni - 1}");
        }

        if (options.VxlanPort is < 1 or > 65535)
        {
            throw new ArgumentException($"{s}:VxlanPort (--vxlan-port) {options.VxlanPort} must be between 1 and 65535");
        }

        if (options.AddressWait < TimeSpan.Zero || options.AddressWait > TimeSpan.FromMinutes(10))
        {
            throw new ArgumentException($"{s}:AddressWait {options.AddressWait} must be between 0 and 10m");
        }

        TenantPrefixLength = options.TenantPrefixLength;
        Capacity = (int)Math.Min(1L << (TenantPrefixLength - poolPrefix), (long)MaxVni - options.VniBase + 1);
    }

    public int PoolPrefixLength { get; }

    public int TenantPrefixLength { get; }

    /// <summary>How many tenants can have a network: the subnets in the pool, or the VNIs left above the base.</summary>
    public int Capacity { get; }

    public int VxlanPort => _options.VxlanPort;

    /// <summary>The largest slot a node can have (slots 0 and all-ones are the subnet's own and its broadcast).</summary>
    public int MaxSlot => (1 << (32 - TenantPrefixLength)) - 2;

    /// <summary>The tenant's index, from its uid.</summary>
    /// <exception cref="TenantNetworkException">The uid is below the range, or past what the pool holds.</exception>
    public int IndexOf(string tenant, uint uid)
    {
        var start = _options.TenantUidRangeStart;
        if (uid < start)
        {
            throw new TenantNetworkException($"tenant {tenant}: uid {uid} is below {TenantNetworkOptions.SectionName}:TenantUidRangeStart {start}, so it has no network (a privileged tenant's network is keyed by its own uid, not root's)");
        }

        var index = (long)uid - start;
        if (index >= Capacity)
        {
            throw new TenantNetworkException($"tenant {tenant}: uid {uid} is tenant number {index}, but the pool {_options.Pool} in /{TenantPrefixLength} subnets (VNIs from {_options.VniBase}) holds {Capacity} tenants; widen --tenant-network-pool");
        }

        return (int)index;
    }

    public int Vni(int index) => _options.VniBase + index;

    /// <summary>The tenant's subnet, e.g. 10.240.4.0/22.</summary>
    public string Subnet(int index) => $"{Format(SubnetBase(index))}/{TenantPrefixLength}";

    /// <summary>The node's slot in every tenant subnet, from its cluster address.</summary>
    /// <exception cref="TenantNetworkException">Not IPv4, or its low bits are the subnet's own address or its broadcast.</exception>
    public int SlotOf(IPAddress nodeAddress)
    {
        if (nodeAddress.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new TenantNetworkException($"the node's cluster address {nodeAddress} is not IPv4; tenant networks tunnel over IPv4");
        }

        var hostBits = 32 - TenantPrefixLength;
        var slot = (int)(ToUInt32(nodeAddress) & ((1u << hostBits) - 1));
        if (slot == 0 || slot > MaxSlot)
        {
            throw new TenantNetworkException($"the node's cluster address {nodeAddress} ends in {slot} in its low {hostBits} bits, which is a subnet's own address or broadcast; give the node another address or change --tenant-network-prefix");
        }

        return slot;
    }

    /// <summary>The address a node with <paramref name="slot"/> has in the tenant's subnet (without the prefix).</summary>
    public IPAddress Address(int index, int slot) => FromUInt32(SubnetBase(index) + (uint)slot);

    public static string BridgeName(int index) => "nfb" + index.ToString(CultureInfo.InvariantCulture);

    public static string TunnelName(int index) => "nfx" + index.ToString(CultureInfo.InvariantCulture);

    public static string VethName(int index) => "nfv" + index.ToString(CultureInfo.InvariantCulture);

    /// <summary>The tenant's end of the veth, inside its namespace.</summary>
    public const string NamespaceInterface = "eth0";

    public static string NamespaceName(string node, int index) => $"nefele-{node}-t{index.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The tenant index a name from <see cref="NamespaceName"/> carries, for this node; null when it is not one.</summary>
    public static int? IndexOfNamespace(string node, string name)
    {
        var prefix = $"nefele-{node}-t";
        return name.StartsWith(prefix, StringComparison.Ordinal)
            && int.TryParse(name.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            && NamespaceName(node, index) == name
            ? index
            : null;
    }

    /// <summary>The tenant index a tunnel's name carries; null when it is not one of ours.</summary>
    public static int? IndexOfTunnel(string name) =>
        name.StartsWith("nfx", StringComparison.Ordinal)
        && int.TryParse(name.AsSpan(3), NumberStyles.None, CultureInfo.InvariantCulture, out var index)
        && TunnelName(index) == name
            ? index
            : null;

    private uint SubnetBase(int index) => _pool + ((uint)index << (32 - TenantPrefixLength));

    private static bool TryParseCidr(string text, out uint network, out int prefix)
    {
        network = 0;
        prefix = 0;
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0
            || !IPAddress.TryParse(text.AsSpan(0, slash), out var address)
            || address.AddressFamily != AddressFamily.InterNetwork
            || text.AsSpan(0, slash).Count('.') != 3
            || !int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out prefix)
            || prefix is < 1 or > 30)
        {
            return false;
        }

        network = ToUInt32(address);
        var mask = uint.MaxValue << (32 - prefix);
        return (network & ~mask) == 0;
    }

    private static bool IsPrivate(uint network, int prefix) =>
        Within(network, prefix, 0x0A000000, 8)         // 10.0.0.0/8
        || Within(network, prefix, 0xAC100000, 12)     // 172.16.0.0/12
        || Within(network, prefix, 0xC0A80000, 16)     // 192.168.0.0/16
        || Within(network, prefix, 0x64400000, 10);    // 100.64.0.0/10

    private static bool Within(uint network, int prefix, uint block, int blockPrefix) =>
        prefix >= blockPrefix && (network & (uint.MaxValue << (32 - blockPrefix))) == block;

    internal static uint ToUInt32(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[4];
        address.TryWriteBytes(bytes, out _);
        return (uint)(bytes[0] << 24 | bytes[1] << 16 | bytes[2] << 8 | bytes[3]);
    }

    internal static IPAddress FromUInt32(uint value) =>
        new([(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]);

    internal static string Format(uint value) => FromUInt32(value).ToString();
}
