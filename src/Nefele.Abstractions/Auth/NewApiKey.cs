namespace Nefele.Client;

/// <summary>A key just created: its description and the secret token, shown this once and never stored.</summary>
[GenerateSerializer, Immutable]
public sealed record NewApiKey
{
    /// <summary>The key's record.</summary>
    [Id(0)] public required ApiKeyInfo Info { get; init; }
    /// <summary>The key itself (<c>nfk_&lt;id&gt;_&lt;secret&gt;</c>), shown this once: only its hash is kept.</summary>
    [Id(1)] public required string Token { get; init; }
}
