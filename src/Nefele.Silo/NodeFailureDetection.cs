using Orleans.Configuration;

namespace Nefele.Silo;

/// <summary>
/// How fast a dead node is noticed in cluster mode. Every silo probes the others; a silo that
/// misses <see cref="MissedProbes"/> probes in a row (the last one sent through another silo, an
/// indirect probe, so one silo's own trouble does not condemn a peer) is declared dead by one vote.
/// Orleans starts probes one probe timeout apart, and adapts that timeout to the measured round
/// trip between <see cref="MinProbeTimeout"/> and <see cref="MaxProbeTimeout"/> (from
/// <see cref="ProbeTimeout"/> until it has samples; on a LAN it settles at the minimum).
/// <list type="bullet">
/// <item>A killed silo's probes fail at once (its node answers "connection refused"), so what a
/// kill costs is the probe period: three probes, 0.25 s apart once settled — under 1 s.</item>
/// <item>A silo that went silent (a partition) is bounded by Orleans' connection liveness check:
/// votes are held back while any message from the silo arrived within MaxProbeTimeout × MissedProbes
/// (3 s). That same check is what keeps a live but slow silo (GC pause, a loaded machine) from being
/// declared dead by the short probe timeout: its late answers and its own probes are messages.</item>
/// </list>
/// Once the cluster declared a silo dead, its node's processes are Lost at once
/// (Failure:DeadNodeLostAfter); a silo that shut down on its own (a restart) is waited for
/// (Failure:NodeLostAfter), so a silo restart on a live node loses nothing.
/// </summary>
internal static class NodeFailureDetection
{
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromMilliseconds(500);
    public static readonly TimeSpan MinProbeTimeout = TimeSpan.FromMilliseconds(250);
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
