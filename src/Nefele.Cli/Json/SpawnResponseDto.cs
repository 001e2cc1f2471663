using System.Text.Json;

namespace Nefele.Cli.Json;

/// <summary>Answer to a spawn: the NPIDs started and, with allowPartial, what was turned away.</summary>
internal sealed record SpawnResponseDto
{
    public IReadOnlyList<string> Npids { get; init; } = [];

    // Kept loose: nef only reports how many were rejected and the first reason.
    public IReadOnlyList<JsonElement>? Rejected { get; init; }
}
