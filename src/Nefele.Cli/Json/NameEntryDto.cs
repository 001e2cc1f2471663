namespace Nefele.Cli.Json;

/// <summary>One name (or topic) with its holders in registration order: GET .../names/{name}, and rows of the lists.</summary>
internal sealed record NameEntryDto(string Name, IReadOnlyList<NameHolderDto>? Holders);
