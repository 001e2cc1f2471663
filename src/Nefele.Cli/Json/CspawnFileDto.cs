namespace Nefele.Cli.Json;

/// <summary>The file cspawn reads: {"tasks":[…]}.</summary>
[System.Text.Json.Serialization.JsonUnmappedMemberHandling(System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow)]
internal sealed record CspawnFileDto
{
    public IReadOnlyList<CspawnTaskDto>? Tasks { get; init; }
}
