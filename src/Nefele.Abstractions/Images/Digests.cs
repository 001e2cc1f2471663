using System.Security.Cryptography;

namespace Nefele.Images;

/// <summary>Content addresses: <c>sha256:</c> and 64 lowercase hex digits, as OCI writes them.</summary>
public static class Digests
{
    /// <summary>The only algorithm images use.</summary>
    public const string Prefix = "sha256:";

    /// <summary>True for <c>sha256:</c> followed by exactly 64 lowercase hex digits.</summary>
    public static bool IsSha256(string? digest)
    {
        if (digest is null || digest.Length != Prefix.Length + 64 || !digest.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in digest.AsSpan(Prefix.Length))
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The 64 hex digits of a digest (its file name in a store).</summary>
    public static string Hex(string digest) => digest[Prefix.Length..];

    /// <summary>The digest of a finished hash.</summary>
    public static string Of(IncrementalHash hash) => Prefix + Convert.ToHexStringLower(hash.GetHashAndReset());

    /// <summary>The digest of <paramref name="bytes"/>.</summary>
    public static string Of(ReadOnlySpan<byte> bytes) => Prefix + Convert.ToHexStringLower(SHA256.HashData(bytes));
}
