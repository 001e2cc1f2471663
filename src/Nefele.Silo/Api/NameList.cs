using Nefele.Client;

namespace Nefele.Silo.Api;

/// <summary>Answer of GET …/names: the names (or, from GET …/topics, the topics) with their holders.</summary>
public sealed record NameList(IReadOnlyList<NameEntry> Names);
