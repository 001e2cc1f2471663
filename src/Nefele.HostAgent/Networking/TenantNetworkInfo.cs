using System.Net;

namespace Nefele.HostAgent.Networking;

/// <summary>
/// A tenant's network on this node, as a container joins it: <c>systemd-nspawn
/// --network-namespace-path=</c><see cref="NamespacePath"/>. The namespace has <c>lo</c> and
/// <c>eth0</c>, which holds <see cref="Address"/>/<see cref="PrefixLength"/> and reaches the same
/// tenant's namespaces on the other nodes, and nothing else (no default route).
/// </summary>
/// <param name="Index">The tenant's index (<c>uid - TenantUidRangeStart</c>): what names the pieces.</param>
/// <param name="NamespacePath">The network namespace, a file under /run/netns.</param>
/// <param name="Address">This node's address in the tenant's subnet.</param>
/// <param name="PrefixLength">The subnet's prefix length.</param>
/// <param name="Subnet">The tenant's subnet in CIDR form (the same on every node).</param>
/// <param name="Vni">The tunnel's VXLAN network identifier (the same on every node).</param>
public sealed record TenantNetworkInfo(int Index, string NamespacePath, IPAddress Address, int PrefixLength, string Subnet, int Vni);
