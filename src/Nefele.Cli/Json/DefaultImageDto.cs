namespace Nefele.Cli.Json;

/// <summary>Body of PUT .../default-image.</summary>
internal sealed record DefaultImageDto(string? Image);
