using System.ComponentModel.DataAnnotations;

namespace Nefele.Retention;

/// <summary>
/// How long ended processes and finished spawn requests are kept (section "Retention"). Past
/// retention a record is removed from grain storage (memory or Redis), its grain deactivates and
/// its tenant's index drops it; the NPID then answers <c>npid_not_found</c> saying it was
/// collected. Both bounds apply, per tenant, whichever is reached first — as Kubernetes'
/// terminated-pod GC threshold (12,500 pods, a count) and Nomad's job GC (4 h, an age) do.
/// </summary>
public sealed class RetentionOptions
{
    public const string Section = "Retention";

    /// <summary>
    /// Most ended processes, and most finished spawn requests, each tenant keeps; the oldest go
    /// first. Default 1,000. The lists are stored in pages of their own (a start or an end writes
    /// one page), so a larger count costs memory and storage, not time per spawn.
    /// </summary>
    [Range(1, 1_000_000)]
    public int Count { get; set; } = 1_000;

    /// <summary>
    /// How long an ended process (from its end) and a spawn request (from its admission) are kept.
    /// A retried request with the same id within this time gets the first answer. Default 1 h.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "365.00:00:00")]
    public TimeSpan Age { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How often each tenant with kept records looks for expired ones. Default 10 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan CollectInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The policy in words, for error hints.</summary>
    public string Describe() => $"ended processes are kept for {Show(Age)}, at most the last {Count} per tenant";

    private static string Show(TimeSpan t) =>
        t.TotalDays >= 1 && t.TotalDays % 1 == 0 ? $"{t.TotalDays:0} d"
        : t.TotalHours >= 1 && t.TotalHours % 1 == 0 ? $"{t.TotalHours:0} h"
        : t.TotalMinutes >= 1 && t.TotalMinutes % 1 == 0 ? $"{t.TotalMinutes:0} min"
        : $"{t.TotalSeconds:0.###} s";
}
