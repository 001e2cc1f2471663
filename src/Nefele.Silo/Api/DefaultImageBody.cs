namespace Nefele.Silo.Api;

/// <summary>Body of PUT …/default-image: the tenant's default image (<c>NAME[:TAG]</c>), or null for none.</summary>
public sealed record DefaultImageBody(string? Image);
