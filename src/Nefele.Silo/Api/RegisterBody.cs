namespace Nefele.Silo.Api;

/// <summary>Body of PUT …/names/{name}: the holder to register.</summary>
public sealed record RegisterBody(string? Npid = null);
