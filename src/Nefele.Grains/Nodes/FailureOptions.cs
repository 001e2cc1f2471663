using System.ComponentModel.DataAnnotations;

namespace Nefele.Nodes;

/// <summary>When a node's processes are given up as Lost (section "Failure").</summary>
public sealed class FailureOptions
{
    public const string Section = "Failure";

    /// <summary>
    /// How long a node whose silo left on its own (a graceful stop or restart: it shut down, or a
    /// newer silo of the same node replaced it) may have no active silo before its processes are
    /// declared Lost; never while a new silo of the node is joining. Long enough for a silo restart
    /// on a live node (its hostd keeps the processes and reports them again to the new silo): one
    /// takes 3–6 s on an idle machine and up to 16 s was seen on a loaded 2-core one. It is also
    /// how long the monitors of a node stopped gracefully (silo, then hostd) wait to hear. Default 30 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan NodeLostAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a node whose silo the cluster declared dead (it stopped answering probes: killed,
    /// crashed or cut off) and whose hostd does not answer either (see <see cref="HostdLivenessPort"/>)
    /// may have no active silo before its processes are declared Lost. That silo can never come
    /// back as it was; only a new silo of the node can. Default 0: at once.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan DeadNodeLostAfter { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// The port of every node's hostd liveness answer (hostd's --liveness-port). When the cluster
    /// declares a node's silo dead, the node's hostd is asked there, at the silo's address: if it
    /// answers with the node's name, the node is alive and only its silo crashed, so its processes
    /// are waited for as for a restart (<see cref="NodeLostAfter"/>); if it refuses or is silent
    /// for <see cref="HostdProbeTimeout"/>, the node is gone (<see cref="DeadNodeLostAfter"/>).
    /// Default 11112; 0: never ask (every dead silo is a dead node).
    /// </summary>
    [Range(0, 65535)]
    public int HostdLivenessPort { get; set; } = 11112;

    /// <summary>
    /// How long the liveness question to a node's hostd may take. It is added to the detection of a
    /// node that went silent (a partition), so it is short: a node's kernel answers a connection at
    /// once even when hostd is busy. Default 300 ms.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:10")]
    public TimeSpan HostdProbeTimeout { get; set; } = TimeSpan.FromMilliseconds(300);

    /// <summary>How often watched nodes are checked besides every change of membership. Default 250 ms.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How long reading the membership table (to learn how a silo left) may take before it counts as a graceful leave. Default 2 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan MembershipReadTimeout { get; set; } = TimeSpan.FromSeconds(2);
}
