using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Nefele.HostAgent.Networking;
using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Tests.Networking;

/// <summary>The silo's peer list reaching a real hostd over its control socket.</summary>
public sealed class PeersChannelTests : AttachedHostdTests
{
    private static ControlRequest Peers(ulong version, string self, params string[] peers)
    {
        var update = new ClusterPeersUpdate { Version = version, SelfAddress = self };
        update.PeerAddresses.AddRange(peers);
        return new ControlRequest { Peers = update };
    }

    [Fact]
    public async Task Hostd_takes_the_newest_peer_list_without_itself()
    {
        var networks = Hostd.Services.GetRequiredService<TenantNetworks>();

        var reply = await Silo.RequestAsync(Peers(5, "10.86.200.11", "10.86.200.13", "10.86.200.11", "10.86.200.12"));

        Assert.Equal(ControlEvent.BodyOneofCase.Ok, reply.BodyCase);
        Assert.Equal("10.86.200.11", networks.SelfAddress?.ToString());
        Assert.Equal(["10.86.200.12", "10.86.200.13"], networks.PeerAddresses);

        // A list from an older membership version, arriving late, is acknowledged and ignored.
        Assert.Equal(ControlEvent.BodyOneofCase.Ok, (await Silo.RequestAsync(Peers(4, "10.86.200.11"))).BodyCase);
        Assert.Equal(["10.86.200.12", "10.86.200.13"], networks.PeerAddresses);
    }

    [Fact]
    public async Task A_peer_list_with_a_bad_address_is_refused_naming_it_and_changes_nothing()
    {
        var networks = Hostd.Services.GetRequiredService<TenantNetworks>();
        Assert.Equal(ControlEvent.BodyOneofCase.Ok, (await Silo.RequestAsync(Peers(1, "10.86.200.11", "10.86.200.12"))).BodyCase);

        var reply = await Silo.RequestAsync(Peers(2, "10.86.200.11", "10.86.200.300"));

        Assert.Equal(Client.ErrorCodes.BadRequest, reply.Error?.Code);
        Assert.Contains("10.86.200.300", reply.Error!.Message);
        Assert.Equal(["10.86.200.12"], networks.PeerAddresses);
    }

    [Fact]
    public void A_bad_tenant_network_setting_fails_naming_it()
    {
        using var host = HostAgentApp.Build(["--node", "tnbad", "--run-dir", Path.Combine(Path.GetTempPath(), "tnbad"), "--tenant-network-pool", "10.240.0.1/12"]);
        var e = Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<IOptions<TenantNetworkOptions>>().Value);
        Assert.Contains("--tenant-network-pool", e.Message);
    }
}
