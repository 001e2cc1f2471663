using System.ComponentModel.DataAnnotations;

namespace Nefele.Nodes;

/// <summary>When a node's processes are given up as Lost (section "Failure").</summary>
public sealed class FailureOptions
{
    public const string Section = "Failure";

    /// <summary>
    /// How long a node must have no active silo before its processes are declared Lost.
    /// Long enough for a silo restart on a live node (its hostd keeps the processes and
    /// re-reports them), short enough that monitors hear of a dead node quickly. Default 5 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan NodeLostAfter { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often watched nodes are checked. Default 500 ms.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromMilliseconds(500);
}
