using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Nefele.HostAgent.Networking;
using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Tests.Networking;

/// <summary>
/// Two nodes on one machine, as <c>scripts/cluster</c> lays them out: each a network namespace with
/// one address on a bridge of the test's own (names carry a random tag, so runs side by side do not
/// meet), each with its <see cref="TenantNetworks"/> acting in that namespace. Removes everything it
/// made, by name, at the end.
/// </summary>
public sealed class SimulatedNodes : IAsyncLifetime
{
    private readonly string _tag = "tn" + Random.Shared.Next(0x1000, 0xFFFF).ToString("x", System.Globalization.CultureInfo.InvariantCulture);
    private readonly string _subnet = $"10.86.{Random.Shared.Next(0, 256)}";

    /// <summary>Whether this machine can run them: root, iproute2, nsenter and python3.</summary>
    public static string? Missing =>
        Environment.UserName != "root" ? "making network namespaces needs root"
        : !File.Exists("/usr/bin/nsenter") ? "nsenter (util-linux) is not installed"
        : !File.Exists(Probe.Python) ? "python3 is not installed"
        : !File.Exists("/usr/sbin/nft") ? "nft (nftables) is not installed"
        : !(File.Exists("/usr/sbin/ip") || File.Exists("/usr/bin/ip") || File.Exists("/sbin/ip")) ? "ip (iproute2) is not installed"
        : null;

    public string Bridge => $"{_tag}br";

    public string NodeName(int k) => $"{_tag}-n{k}";

    /// <summary>Node k's namespace name (under /run/netns).</summary>
    public string NodeNamespace(int k) => $"{_tag}-n{k}";

    public string NodeAddress(int k) => $"{_subnet}.{10 + k}";

    public TenantNetworks Node1 { get; private set; } = null!;

    public TenantNetworks Node2 { get; private set; } = null!;

    public TenantNetworks Networks(int k) => k == 1 ? Node1 : Node2;

    /// <summary>A fresh instance for node k, as a restarted hostd has.</summary>
    public TenantNetworks Restarted(int k) =>
        new(new TenantNetworkOptions { AddressWait = TimeSpan.FromSeconds(5) }, NodeName(k), new IpRoute(NodeNamespace(k)), NullLogger<TenantNetworks>.Instance);

    /// <summary>What the silo of node k would push: itself, and the given other nodes.</summary>
    public ClusterPeersUpdate Peers(int k, ulong version, params int[] others)
    {
        var update = new ClusterPeersUpdate { Version = version, SelfAddress = NodeAddress(k) };
        update.PeerAddresses.AddRange(others.Select(NodeAddress));
        return update;
    }

    public async Task InitializeAsync()
    {
        if (Missing is not null)
        {
            return;
        }

        await Sh($"ip link add {Bridge} type bridge && ip link set {Bridge} up");
        for (var k = 1; k <= 2; k++)
        {
            var ns = NodeNamespace(k);
            await Sh($"ip netns add {ns} && ip link add {_tag}v{k} type veth peer name eth0 netns {ns} && ip link set {_tag}v{k} master {Bridge} up"
                + $" && ip -n {ns} addr add {NodeAddress(k)}/24 dev eth0 && ip -n {ns} link set eth0 up && ip -n {ns} link set lo up");
        }

        Node1 = Restarted(1);
        Node2 = Restarted(2);
        Assert.Null(await Node1.UpdatePeersAsync(Peers(1, 1, 2), CancellationToken.None));
        Assert.Null(await Node2.UpdatePeersAsync(Peers(2, 1, 1), CancellationToken.None));
    }

    public async Task DisposeAsync()
    {
        if (Missing is not null)
        {
            return;
        }

        // The tenant namespaces of both nodes (those of a test that failed half-way too), then the nodes:
        // deleting a node's namespace deletes the links in it.
        foreach (var path in Directory.GetFiles("/run/netns", $"nefele-{_tag}-n*"))
        {
            await Sh($"ip netns del {Path.GetFileName(path)}", check: false);
        }

        for (var k = 1; k <= 2; k++)
        {
            await Sh($"ip netns del {NodeNamespace(k)}", check: false);
        }

        await Sh($"ip link del {Bridge}", check: false);
    }

    /// <summary>Runs a shell command line (fixed text made here, no outside input).</summary>
    public static async Task<string> Sh(string command, bool check = true)
    {
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(command);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        if (check && process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{command}: exit {process.ExitCode}: {await error}");
        }

        return await output;
    }
}
