namespace Nefele.Client;

/// <summary>A key just created: its description and the secret token, shown this once and never stored.</summary>
[GenerateSerializer, Immutable]
public sealed record NewApiKey
{
    [Id(0)] public required ApiKeyInfo Info { get; init; }
    [Id(1)] public required string Token { get; init; }
}
