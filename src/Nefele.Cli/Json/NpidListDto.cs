namespace Nefele.Cli.Json;

/// <summary>Answer of PUT .../names/{name}: the holders after the registration.</summary>
internal sealed record NpidListDto(IReadOnlyList<string> Npids);
