namespace Nefele.Cli.Json;

/// <summary>Body of POST .../supervisors/{name}/resize.</summary>
internal sealed record ResizeDto(int Size);
