using System.Security.Cryptography;
using System.Text;
using Nefele.Client;

namespace Nefele.Auth;

/// <summary>
/// The API key format, written once: <c>nfk_&lt;id&gt;_&lt;secret&gt;</c>, where id is 16 lowercase hex
/// characters (it names the stored record, so a lookup never scans) and secret is 256 random bits in
/// base64url (43 characters). Only the SHA-256 of the secret is ever stored.
/// </summary>
public static class ApiKeys
{
    public const string Prefix = "nfk_";
    private const int IdLength = 16;
    private const int SecretLength = 43;

    /// <summary>A new random key: the token to show once, its id and the hash to store.</summary>
    public static (string Token, string Id, string SecretHash) Create()
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(IdLength / 2));
        var secret = Base64Url(RandomNumberGenerator.GetBytes(32));
        return ($"{Prefix}{id}_{secret}", id, Hash(secret));
    }

    /// <summary>Splits a token into id and secret; false for anything not of the key's shape.</summary>
    public static bool TryParse(string? token, out string id, out string secret)
    {
        id = secret = string.Empty;
        if (token is null || token.Length != Prefix.Length + IdLength + 1 + SecretLength || !token.StartsWith(Prefix, StringComparison.Ordinal)
            || token[Prefix.Length + IdLength] != '_')
        {
            return false;
        }

        var idPart = token.AsSpan(Prefix.Length, IdLength);
        var secretPart = token.AsSpan(Prefix.Length + IdLength + 1);
        foreach (var c in idPart)
        {
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        foreach (var c in secretPart)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not '-' and not '_')
            {
                return false;
            }
        }

        id = idPart.ToString();
        secret = secretPart.ToString();
        return true;
    }

    /// <summary>True when the key id has the shape <see cref="Create"/> gives (hex, 16 characters).</summary>
    public static bool IsKeyId(string? id) => id is { Length: IdLength } && id.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f');

    public static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    /// <summary>Compares in constant time, so timing tells nothing about the stored hash.</summary>
    public static bool Matches(string secret, string storedHash) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Hash(secret)), Encoding.ASCII.GetBytes(storedHash));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
