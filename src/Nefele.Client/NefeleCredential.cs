using Nefele.Auth;

namespace Nefele.Client;

/// <summary>
/// What a program proves itself with: an API key. Every grain call the connection makes carries
/// it, and the silos check it on every call (a key of tenant A cannot touch tenant B).
/// </summary>
public sealed class NefeleCredential
{
    private NefeleCredential(string token) => Token = token;

    internal string Token { get; }

    /// <summary>An API key as <c>nef key create</c> printed it.</summary>
    public static NefeleCredential ApiKey(string token)
    {
        if (!ApiKeys.TryParse(token, out _, out _))
        {
            throw new ArgumentException("not a Nefele API key (nfk_<id>_<secret>)", nameof(token));
        }

        return new NefeleCredential(token);
    }

    /// <summary>
    /// The key found where nef finds it (NEFELE_TOKEN, ~/.config/nefele/config, the node's admin key
    /// file; see <see cref="CredentialSources"/>); null when there is none.
    /// </summary>
    public static NefeleCredential? FromEnvironment() => CredentialSources.Find() is { } token ? new NefeleCredential(token) : null;
}
