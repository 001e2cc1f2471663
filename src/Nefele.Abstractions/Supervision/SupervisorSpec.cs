namespace Nefele.Client;

/// <summary>
/// A supervisor tree: its strategy, its restart intensity (at most <see cref="MaxRestarts"/> restarts
/// in <see cref="PeriodSeconds"/> seconds, default OTP's 1 in 5) and its children in start order.
/// A <see cref="SupervisorStrategy.SimpleOneForOne"/> supervisor has exactly one child, the template
/// of its pool, and starts <see cref="PoolSize"/> copies of it.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record SupervisorSpec
{
    /// <summary>What is restarted when a child ends; default one_for_one.</summary>
    [Id(0)] public SupervisorStrategy Strategy { get; init; } = SupervisorStrategy.OneForOne;

    /// <summary>MaxR: the most restarts allowed within <see cref="PeriodSeconds"/>; one more and the supervisor gives up. Default 1.</summary>
    [Id(1)] public int MaxRestarts { get; init; } = 1;

    /// <summary>MaxT: the window of the restart intensity, in seconds of monotonic time. Default 5.</summary>
    [Id(2)] public int PeriodSeconds { get; init; } = 5;

    /// <summary>The children, started in this order and stopped in reverse order.</summary>
    [Id(3)] public IReadOnlyList<ChildSpec> Children { get; init; } = [];

    /// <summary>simple_one_for_one only: how many copies of the template run at start (default 0; resize to change it).</summary>
    [Id(4)] public int PoolSize { get; init; }
}
