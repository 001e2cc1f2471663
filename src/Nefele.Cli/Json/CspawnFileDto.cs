namespace Nefele.Cli.Json;

/// <summary>The file cspawn reads: {"tasks":[…]}.</summary>
[System.Text.Json.Serialization.JsonUnmappedMemberHandling(System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow)]
internal sealed record CspawnFileDto
{
    public IReadOnlyList<CspawnTaskDto>? Tasks { get; init; }

    /// <summary>Put the tasks on distinct nodes as far as possible.</summary>
    public bool Spread { get; init; }
}
