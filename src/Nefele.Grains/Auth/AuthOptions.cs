using System.ComponentModel.DataAnnotations;
using Nefele.Client;

namespace Nefele.Auth;

/// <summary>Credentials (section "Auth").</summary>
public sealed class AuthOptions : IValidatableObject
{
    public const string Section = "Auth";

    /// <summary>
    /// How long a silo trusts what it read of a key. Default 0.5 s, so a revocation or expiry takes
    /// effect on every silo within a second while a busy client costs one lookup per key and interval.
    /// </summary>
    public TimeSpan KeyCacheTtl { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// The admin key the node's start-up made (scripts/up writes the token to a root-only file):
    /// "&lt;key id&gt;:&lt;SHA-256 of the secret, hex&gt;". The silo stores that record at start (same
    /// id and hash on every node), so the first admin can log in. Null: no bootstrap key.
    /// </summary>
    public string? BootstrapAdminKey { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (KeyCacheTtl < TimeSpan.Zero || KeyCacheTtl > TimeSpan.FromSeconds(1))
        {
            yield return new ValidationResult($"Auth:KeyCacheTtl {KeyCacheTtl} must be between 0 and 1 s (revocation must take effect within a second)", [nameof(KeyCacheTtl)]);
        }

        if (BootstrapAdminKey is { } key && TryParseBootstrap(key) is null)
        {
            yield return new ValidationResult("Auth:BootstrapAdminKey must be '<16 hex key id>:<64 hex SHA-256>'", [nameof(BootstrapAdminKey)]);
        }
    }

    public static (string Id, string Hash)? TryParseBootstrap(string value)
    {
        var parts = value.Split(':');
        return parts.Length == 2 && ApiKeys.IsKeyId(parts[0]) && parts[1].Length == 64 && parts[1].All(char.IsAsciiHexDigitLower)
            ? (parts[0], parts[1])
            : null;
    }
}
