namespace Nefele.Silo.Api;

/// <summary>Answer of PUT …/names/{name}: the name's holders after the registration, in registration order.</summary>
public sealed record NameHolders(IReadOnlyList<string> Npids);
