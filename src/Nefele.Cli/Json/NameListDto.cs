namespace Nefele.Cli.Json;

/// <summary>Answer of GET .../names and .../topics (a topic list may come as "topics").</summary>
internal sealed record NameListDto(IReadOnlyList<NameEntryDto>? Names, IReadOnlyList<NameEntryDto>? Topics);
