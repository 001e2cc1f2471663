using System.Net;
using Nefele.HostAgent.Networking;

namespace Nefele.HostAgent.Tests.Networking;

public class TenantNetworkPlanTests
{
    private static TenantNetworkPlan Plan(Action<TenantNetworkOptions>? change = null)
    {
        var options = new TenantNetworkOptions();
        change?.Invoke(options);
        return new TenantNetworkPlan(options);
    }

    [Fact]
    public void Tenant_index_is_its_uid_above_the_range_start()
    {
        var plan = Plan();
        Assert.Equal(0, plan.IndexOf("a", 200000));
        Assert.Equal(7, plan.IndexOf("b", 200007));
    }

    [Fact]
    public void Subnets_are_consecutive_blocks_of_the_pool()
    {
        var plan = Plan();

        // 10.240.0.0/12 cut in /22s: block i starts i * 1024 addresses in, i.e. i * 4 in the third octet.
        Assert.Equal("10.240.0.0/22", plan.Subnet(0));
        Assert.Equal("10.240.28.0/22", plan.Subnet(7));
        Assert.Equal("10.241.0.0/22", plan.Subnet(64));
        Assert.Equal("10.255.252.0/22", plan.Subnet(1023));
        Assert.Equal(1024, plan.Capacity);
    }

    [Fact]
    public void Node_slot_is_the_low_bits_of_its_cluster_address()
    {
        var plan = Plan();
        Assert.Equal(11, plan.SlotOf(IPAddress.Parse("10.77.0.11")));
        Assert.Equal((3 * 256) + 12, plan.SlotOf(IPAddress.Parse("10.86.3.12")));
        Assert.Equal(IPAddress.Parse("10.240.28.11"), plan.Address(7, 11));
        Assert.Equal(IPAddress.Parse("10.240.31.12"), plan.Address(7, (3 * 256) + 12));
    }

    [Theory]
    [InlineData("10.77.0.0")]     // the subnet's own address in the low 10 bits
    [InlineData("10.77.3.255")]   // its broadcast
    public void A_node_address_whose_low_bits_are_a_subnet_edge_has_no_slot(string address)
    {
        var e = Assert.Throws<TenantNetworkException>(() => Plan().SlotOf(IPAddress.Parse(address)));
        Assert.Contains(address, e.Message);
    }

    [Fact]
    public void VNI_is_the_base_plus_the_index()
    {
        Assert.Equal((1 << 20) + 7, Plan().Vni(7));
        Assert.Equal(107, Plan(o => o.VniBase = 100).Vni(7));
    }

    [Fact]
    public void A_uid_below_the_range_or_past_the_pool_is_refused_with_the_reason()
    {
        var plan = Plan(o => o.Pool = "10.240.0.0/20");   // four /22s
        Assert.Contains("below", Assert.Throws<TenantNetworkException>(() => plan.IndexOf("root-tenant", 0)).Message);
        Assert.Equal(3, plan.IndexOf("d", 200003));
        var e = Assert.Throws<TenantNetworkException>(() => plan.IndexOf("e", 200004));
        Assert.Contains("holds 4 tenants", e.Message);
    }

    [Fact]
    public void VNIs_near_the_top_of_24_bits_bound_the_capacity()
    {
        var plan = Plan(o => o.VniBase = (1 << 24) - 10);
        Assert.Equal(10, plan.Capacity);
    }

    [Theory]
    [InlineData("10.240.0.1/12", "Pool")]        // not aligned
    [InlineData("8.8.0.0/16", "Pool")]           // not private
    [InlineData("10.240.0.0", "Pool")]           // no prefix
    [InlineData("fd00::/8", "Pool")]             // not IPv4
    public void A_bad_pool_fails_naming_the_setting(string pool, string setting)
    {
        var e = Assert.Throws<ArgumentException>(() => Plan(o => o.Pool = pool));
        Assert.Contains($"TenantNetwork:{setting}", e.Message);
    }

    [Theory]
    [InlineData(12)]
    [InlineData(31)]
    public void A_tenant_prefix_outside_the_pool_fails_naming_the_setting(int prefix)
    {
        var e = Assert.Throws<ArgumentException>(() => Plan(o => o.TenantPrefixLength = prefix));
        Assert.Contains("TenantPrefixLength", e.Message);
    }

    [Fact]
    public void Names_fit_the_kernel_and_are_read_back()
    {
        Assert.True(TenantNetworkPlan.TunnelName(99999).Length <= 15);
        Assert.Equal(12, TenantNetworkPlan.IndexOfTunnel("nfx12"));
        Assert.Null(TenantNetworkPlan.IndexOfTunnel("nfx012"));
        Assert.Null(TenantNetworkPlan.IndexOfTunnel("nfb12"));
        Assert.Equal(5, TenantNetworkPlan.IndexOfNamespace("n1", "nefele-n1-t5"));
        Assert.Null(TenantNetworkPlan.IndexOfNamespace("n1", "nefele-n2-t5"));
    }

    [Fact]
    public void The_validator_reports_a_bad_setting()
    {
        var result = new TenantNetworkOptionsValidator().Validate(null, new TenantNetworkOptions { VxlanPort = 0 });
        Assert.True(result.Failed);
        Assert.Contains("--vxlan-port", result.FailureMessage);
    }

    [Fact]
    public void Short_flags_set_the_tenant_network_settings()
    {
        var (settings, rest) = CommandLine.Parse(["--tenant-network-pool", "10.200.0.0/16", "--tenant-network-prefix=24", "--tenant-uid-start", "300000", "--vxlan-port", "8472"]);
        Assert.Empty(rest);
        Assert.Equal("10.200.0.0/16", settings["HostAgent:TenantNetwork:Pool"]);
        Assert.Equal("24", settings["HostAgent:TenantNetwork:TenantPrefixLength"]);
        Assert.Equal("300000", settings["HostAgent:TenantNetwork:TenantUidRangeStart"]);
        Assert.Equal("8472", settings["HostAgent:TenantNetwork:VxlanPort"]);
    }
}
