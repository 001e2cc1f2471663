using System.Text.RegularExpressions;
using Nefele.Errors;

namespace Nefele.Validation;

/// <summary>The grammar of every name a tenant gives, written once for every door.</summary>
public static partial class Names
{
    /// <summary>
    /// Tenant names are DNS labels, as Kubernetes namespaces: 1-63 of a-z, 0-9 and '-', starting and
    /// ending with a letter or digit. So they are safe in paths, URLs, grain keys ("tenant/…") and
    /// unit names, and never contain '/', '.', or spaces.
    /// </summary>
    public static bool IsTenantName(string? name) => name is not null && TenantShape().IsMatch(name);

    public static void ValidateTenantName(string? name)
    {
        if (!IsTenantName(name))
        {
            throw NefeleException.Bad($"tenant name '{Shorten(name)}' is invalid: use 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit");
        }
    }

    /// <summary>API key names: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (as process names).</summary>
    public static void ValidateKeyName(string? name)
    {
        if (name is null || !KeyShape().IsMatch(name))
        {
            throw NefeleException.Bad($"key name '{Shorten(name)}' is invalid: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
    }

    private static string Shorten(string? s) => s is null ? string.Empty : s.Length <= 80 ? s : s[..80] + "…";

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
    private static partial Regex TenantShape();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex KeyShape();
}
