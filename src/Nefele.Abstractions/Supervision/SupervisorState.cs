namespace Nefele.Supervision;

/// <summary>
/// Everything a supervisor is: its spec, its children and the restarts inside its intensity window.
/// The durable supervisor grain persists it after every change, so another silo carries on from it.
/// </summary>
[GenerateSerializer]
public sealed class SupervisorState
{
    [NonSerialized]
    private Client.SupervisorSpec? _spec;

    [Id(0)] public string? Tenant { get; set; }

    [Id(1)] public string Name { get; set; } = string.Empty;

    /// <summary>
    /// The spec as the REST API's JSON. Stored as text: grain storage that leaves out properties at their
    /// type's default would read back a spec's 0 as the record's own default (maxRestarts 0 as 1).
    /// </summary>
    [Id(2)] public string? SpecJson { get; set; }

    [Id(3)] public List<ChildState> Children { get; set; } = [];

    [Id(4)] public Client.SupervisorPhase Phase { get; set; } = Client.SupervisorPhase.Starting;

    [Id(5)] public string? EndReason { get; set; }

    /// <summary>
    /// The restarts inside the intensity window, as wall-clock times. Only a supervisor that moves to
    /// another node reads them: it turns them into ages on its own monotonic clock once (monotonic
    /// timestamps of another machine mean nothing here); within one run the window uses monotonic time.
    /// </summary>
    [Id(6)] public List<DateTimeOffset> RestartTimes { get; set; } = [];

    /// <summary>The number the next child of a pool gets.</summary>
    [Id(7)] public int NextIndex { get; set; } = 1;

    [Id(8)] public int TotalRestarts { get; set; }

    [Id(9)] public long Version { get; set; }

    /// <summary>The pool's target size (simple_one_for_one).</summary>
    [Id(10)] public int PoolSize { get; set; }

    /// <summary>The spec (<see cref="SpecJson"/>, read once).</summary>
    public Client.SupervisorSpec? GetSpec() =>
        _spec ??= SpecJson is null ? null : System.Text.Json.JsonSerializer.Deserialize<Client.SupervisorSpec>(SpecJson);

    /// <summary>Sets the spec.</summary>
    public void SetSpec(Client.SupervisorSpec? spec)
    {
        _spec = spec;
        SpecJson = spec is null ? null : System.Text.Json.JsonSerializer.Serialize(spec);
    }
}
