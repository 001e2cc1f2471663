namespace Nefele.Cli.Json;

/// <summary>Body of POST .../messages: data travels as base64; mode is "any", "failover", "all", "broadcast" or "publish".</summary>
internal sealed record SendMessageDto(string To, string? Tag, byte[] Data, string? Mode, bool Ack, int WaitMs);
