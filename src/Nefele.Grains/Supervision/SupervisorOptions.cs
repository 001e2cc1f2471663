namespace Nefele.Supervision;

/// <summary>How the silos keep durable supervisors running (section "Supervisors").</summary>
public sealed class SupervisorOptions
{
    public const string Section = "Supervisors";

    /// <summary>
    /// How often each silo wakes every supervisor besides membership changes (default 60 s): a backstop
    /// for a wake that failed while a lost silo's grains were still being moved. Positive.
    /// </summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(60);
}
