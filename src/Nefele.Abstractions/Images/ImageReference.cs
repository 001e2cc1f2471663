using System.Text.RegularExpressions;
using Nefele.Client;
using Nefele.Validation;

namespace Nefele.Images;

/// <summary>
/// An image as a spec or a command names it: <c>NAME[:TAG]</c>, and after admission
/// <c>NAME:TAG@sha256:&lt;hex&gt;</c> (the digest the tag pointed at then, which hostd unpacks).
/// One grammar for every door: a name is 1-128 of lowercase a-z, 0-9, '.', '_' or '-', starting
/// with a letter or digit; a tag the same with uppercase letters too; the tag defaults to
/// <c>latest</c>. Both are safe as file names (never '/', never "." or "..").
/// </summary>
/// <param name="Name">The image's name within its tenant.</param>
/// <param name="Tag">Its tag (<c>latest</c> when none was given).</param>
/// <param name="Digest">The pinned image digest (<c>sha256:&lt;64 hex&gt;</c>), or null when only the tag is named.</param>
public sealed partial record ImageReference(string Name, string Tag, string? Digest)
{
    /// <summary>The tag a reference without one means.</summary>
    public const string DefaultTag = "latest";

    /// <summary>The words every "bad image name" message uses.</summary>
    public const string Rule = "NAME[:TAG], the name 1-128 of lowercase letters, digits, '.', '_' or '-' starting with a letter or digit, the tag the same with uppercase letters allowed (default latest)";

    /// <summary>Parses <paramref name="text"/>; throws bad_request naming it and the rule when it is not a reference.</summary>
    public static ImageReference Parse(string? text) =>
        TryParse(text, out var reference)
            ? reference
            : throw NefeleException.Bad($"image '{Names.Shorten(text)}' is invalid: use {Rule}");

    /// <summary>Parses <paramref name="text"/> without throwing.</summary>
    public static bool TryParse(string? text, out ImageReference reference)
    {
        reference = null!;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        string? digest = null;
        var at = text.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            digest = text[(at + 1)..];
            text = text[..at];
            if (!Digests.IsSha256(digest))
            {
                return false;
            }
        }

        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var name = colon < 0 ? text : text[..colon];
        var tag = colon < 0 ? DefaultTag : text[(colon + 1)..];
        if (!IsName(name) || !IsTag(tag))
        {
            return false;
        }

        reference = new ImageReference(name, tag, digest);
        return true;
    }

    /// <summary>An image name: 1-128 of a-z, 0-9, '.', '_', '-', starting with a letter or digit.</summary>
    public static bool IsName(string? name) => name is not null && NameShape().IsMatch(name);

    /// <summary>A tag: 1-128 of A-Z, a-z, 0-9, '.', '_', '-', starting with a letter or digit.</summary>
    public static bool IsTag(string? tag) => tag is not null && TagShape().IsMatch(tag);

    /// <summary>Throws bad_request unless <paramref name="name"/> and <paramref name="tag"/> follow the rule.</summary>
    public static void Validate(string? name, string? tag)
    {
        if (!IsName(name) || !IsTag(tag))
        {
            throw NefeleException.Bad($"image '{Names.Shorten(name)}:{Names.Shorten(tag)}' is invalid: use {Rule}");
        }
    }

    /// <summary>The same image pinned to <paramref name="digest"/>.</summary>
    public ImageReference Pinned(string digest) => this with { Digest = digest };

    /// <summary><c>NAME:TAG</c>, with <c>@sha256:…</c> when pinned.</summary>
    public override string ToString() => Digest is null ? $"{Name}:{Tag}" : $"{Name}:{Tag}@{Digest}";

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex NameShape();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex TagShape();
}
