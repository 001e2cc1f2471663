namespace Nefele.Cli.Transport;

/// <summary>One server-sent event: its type ("message" when none was given) and its data lines joined with '\n'.</summary>
internal sealed record SseEvent(string Type, string Data);
