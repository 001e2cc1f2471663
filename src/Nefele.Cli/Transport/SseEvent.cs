namespace Nefele.Cli.Transport;

/// <summary>One server-sent event: its type ("message" when none was given), its data lines joined with '\n', and its id if it had one.</summary>
internal sealed record SseEvent(string Type, string Data, string? Id = null);
