namespace Nefele.HostAgent.Logs;

/// <summary>One read from a <see cref="ProcessLog"/>.</summary>
public sealed record LogChunk(byte[] Data, long NextOffset, bool Complete, long FirstOffset);
