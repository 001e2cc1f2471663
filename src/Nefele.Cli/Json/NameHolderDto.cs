namespace Nefele.Cli.Json;

/// <summary>A holder of a name: a process with its node, or an external mailbox (node "").</summary>
internal sealed record NameHolderDto(string Npid, string? Node);
