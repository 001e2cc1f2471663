namespace Nefele.Cli.Json;

/// <summary>Body of PUT .../names/{name}: the holder to register (null: the caller's mailbox).</summary>
internal sealed record RegisterNameDto(string? Npid);
