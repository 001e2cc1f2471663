using Xunit;

namespace Nefele.Cluster.Tests;

/// <summary>
/// Each node's hostd learns the cluster's other nodes from its silo (for the tenant networks'
/// tunnels), from membership, and follows a node that joins. Harmless to the cluster; like every
/// cluster test it starts from nodes 1..3 active and connected.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class TenantNetworkPeersTests(ClusterFixture cluster) : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    public Task InitializeAsync() => cluster.RestoreAsync(_ => { });

    public Task DisposeAsync() => Task.CompletedTask;

    private static string Address(int k) => $"{ClusterFixture.Subnet}.{10 + k}";

    /// <summary>The last peer list node k's hostd reported in its log: its own address and the others', or null.</summary>
    private (string Self, string[] Peers)? LastPeers(int k)
    {
        var log = Path.Combine(cluster.StateDir, $"node{k}", "hostd.log");
        if (!File.Exists(log))
        {
            return null;
        }

        string? last = null;
        using (var reader = new StreamReader(new FileStream(log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite)))
        {
            while (reader.ReadLine() is { } line)
            {
                if (line.Contains($"Node {ClusterFixture.NodeName(k)} at ", StringComparison.Ordinal) && line.Contains(": cluster peers ", StringComparison.Ordinal))
                {
                    last = line;
                }
            }
        }

        if (last is null)
        {
            return null;
        }

        var self = last[(last.IndexOf(" at ", StringComparison.Ordinal) + 4)..last.IndexOf(": cluster peers ", StringComparison.Ordinal)];
        var peers = last[(last.IndexOf(": cluster peers ", StringComparison.Ordinal) + 16)..last.LastIndexOf(" (membership version", StringComparison.Ordinal)];
        return (self, peers.Split(", ", StringSplitOptions.RemoveEmptyEntries));
    }

    private async Task PeersAre(int k, params int[] others)
    {
        var want = others.Select(Address).Order(StringComparer.Ordinal).ToArray();
        await Eventually.Until(
            () => LastPeers(k) is { } p && p.Self == Address(k) && p.Peers.SequenceEqual(want),
            Bound, $"hostd of node {k} to know its address {Address(k)} and peers {string.Join(", ", want)} (last: {LastPeers(k)?.Self}: {string.Join(", ", LastPeers(k)?.Peers ?? [])})");
    }

    [Fact]
    public async Task Every_hostd_knows_its_own_cluster_address_and_the_other_nodes()
    {
        await PeersAre(1, 2, 3);
        await PeersAre(2, 1, 3);
        await PeersAre(3, 1, 2);
    }
}
