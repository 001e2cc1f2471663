namespace Nefele.Cli.Json;

/// <summary>Data of one "state" event on GET .../processes/{npid}/events.</summary>
internal sealed record ProcessEventDto
{
    public string? Npid { get; init; }

    public long Seq { get; init; }

    public required string State { get; init; }

    public string? Node { get; init; }

    public int Pid { get; init; }

    public ProcessEndDto? End { get; init; }

    public DateTimeOffset? At { get; init; }
}
