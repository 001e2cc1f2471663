using Orleans.Configuration;

namespace Nefele.Silo;

/// <summary>
/// How fast a dead node is noticed in cluster mode. Every silo probes the others; a silo that
/// misses <see cref="MissedProbes"/> probes in a row (the last one sent through another silo, an
/// indirect probe, so one silo's own trouble does not condemn a peer) is declared dead by one vote.
/// Probes adapt to the measured round trip between <see cref="MinProbeTimeout"/> and
/// <see cref="MaxProbeTimeout"/>; votes are also held back while any message from the silo arrived
/// within MaxProbeTimeout × MissedProbes (Orleans' connection liveness check), which bounds the
/// detection of a silo that went silent (a partition) at about 3 s. A killed silo's connections
/// close at once and its probes fail fast: about 1–2 s. Once the cluster declared a silo dead, its
/// node's processes are Lost at once (Failure:DeadNodeLostAfter); a silo that shut down on its own
/// (a restart) is waited for (Failure:NodeLostAfter), so a silo restart on a live node loses nothing.
/// </summary>
internal static class NodeFailureDetection
{
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MinProbeTimeout = TimeSpan.FromMilliseconds(500);
    public static readonly TimeSpan MaxProbeTimeout = TimeSpan.FromSeconds(1);
    public const int MissedProbes = 3;

    public static void Configure(ClusterMembershipOptions o)
    {
        o.ProbeTimeout = ProbeTimeout;
        o.MinProbeTimeout = MinProbeTimeout;
        o.MaxProbeTimeout = MaxProbeTimeout;
        o.NumMissedProbesLimit = MissedProbes;
        o.NumVotesForDeathDeclaration = 1;
        o.EnableIndirectProbes = true;
        o.EnableConnectionLivenessCheck = true;
        o.TableRefreshTimeout = TimeSpan.FromSeconds(5);
        o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(10);
    }
}
