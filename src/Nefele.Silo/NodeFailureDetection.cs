using Orleans.Configuration;

namespace Nefele.Silo;

/// <summary>
/// How fast a dead node is noticed in cluster mode. Orleans probes each silo from a few
/// others; a silo that misses <see cref="MissedProbes"/> probes of <see cref="ProbeTimeout"/>
/// each is voted dead. With these settings a hard-killed node is declared dead within about
/// 3–6 s; its processes become Lost after the node has also stayed away for
/// Node:LostAfter (default 5 s), so a silo restart on a live node loses nothing.
/// </summary>
internal static class NodeFailureDetection
{
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(1);
    public const int MissedProbes = 3;

    public static void Configure(ClusterMembershipOptions o)
    {
        o.ProbeTimeout = ProbeTimeout;
        o.NumMissedProbesLimit = MissedProbes;
        o.NumVotesForDeathDeclaration = 1;
        o.TableRefreshTimeout = TimeSpan.FromSeconds(5);
        o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(10);
    }
}
