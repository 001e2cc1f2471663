namespace Nefele.Cli.Json;

/// <summary>Body of POST .../processes/{npid}/signal.</summary>
internal sealed record SignalRequestDto(int Signal);
