using Nefele.Client;

namespace Nefele.Auth;

/// <summary>One API key, keyed by its id (the part of the token before the secret). Cluster-internal.</summary>
public interface IApiKeyGrain : IGrainWithStringKey
{
    /// <summary>Stores the key; answers false (and changes nothing) when a different key has this id.</summary>
    Task<bool> CreateAsync(ApiKeyRecord record);

    Task<ApiKeyRecord?> GetAsync();

    /// <summary>Refuses the key from now on (every silo within the credential cache's lifetime).</summary>
    Task RevokeAsync();
}
