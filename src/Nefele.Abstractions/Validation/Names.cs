using System.Text.RegularExpressions;
using Nefele.Client;
using Nefele.Errors;
using Nefele.Processes;

namespace Nefele.Validation;

/// <summary>The grammar of every name a caller gives, written once for every door.</summary>
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
        if (!IsProcessName(name))
        {
            throw NefeleException.Bad($"key name '{Shorten(name)}' is invalid: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
    }

    /// <summary>Process names (and key names): 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.</summary>
    public static bool IsProcessName(string? name) => name is not null && ProcessShape().IsMatch(name);

    /// <summary>The words every "bad process name" message uses.</summary>
    public const string ProcessNameRule = "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit";

    /// <summary>The words every "bad messaging name" message uses.</summary>
    public const string ServiceNameRule = "a name of 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit and not shaped like an NPID, or '#' and 1-9 digits";

    /// <summary>
    /// Messaging names (named services and topics): a process-name-shaped name that does not have the
    /// shape of an NPID (so a destination is never ambiguous), or a numeric service id, '#' and 1-9
    /// digits ("#80").
    /// </summary>
    public static bool IsServiceName(string? name) =>
        name is not null && (ServiceIdShape().IsMatch(name) || (ProcessShape().IsMatch(name) && !Npid.IsWellFormed(name)));

    /// <summary>Throws <c>bad_request</c> naming <paramref name="what"/> ("name", "topic") unless <see cref="IsServiceName"/>.</summary>
    public static void ValidateServiceName(string? name, string what = "name")
    {
        if (!IsServiceName(name))
        {
            throw NefeleException.Bad($"{what} '{Shorten(name)}' is invalid: use {ServiceNameRule}");
        }
    }

    /// <summary>
    /// Message destinations: an NPID (or external mailbox address), a name or a service id. Throws
    /// <c>bad_request</c> naming the destination otherwise.
    /// </summary>
    public static void ValidateDestination(string? to)
    {
        if (!Npid.IsWellFormed(to) && !IsServiceName(to))
        {
            throw NefeleException.Bad($"destination '{Shorten(to)}' is invalid: give an NPID, or {ServiceNameRule}");
        }
    }

    /// <summary>Message tags: empty, or 1-<see cref="Limits.MaxMessageTagLength"/> printable ASCII characters.</summary>
    public static bool IsMessageTag(string? tag) => tag is not null && tag.Length <= Limits.MaxMessageTagLength && (tag.Length == 0 || TagShape().IsMatch(tag));

    /// <summary>Throws <c>bad_request</c> unless <see cref="IsMessageTag"/>.</summary>
    public static void ValidateMessageTag(string? tag)
    {
        if (!IsMessageTag(tag))
        {
            throw NefeleException.Bad($"message tag '{Shorten(tag)}' is invalid: use at most {Limits.MaxMessageTagLength} printable ASCII characters");
        }
    }

    /// <summary>NPIDs as <see cref="Npid"/> makes them (13 characters of Crockford base32).</summary>
    public static bool IsNpid(string? text) => Npid.IsWellFormed(text);

    /// <summary>Environment variable names as POSIX shells accept them: a letter or '_', then letters, digits or '_'.</summary>
    public static bool IsEnvName(string? name) => name is not null && EnvShape().IsMatch(name);

    /// <summary>Names the node sets itself (NEFELE_*), which a spec may not give.</summary>
    public static bool IsReservedEnvName(string name) => name.StartsWith("NEFELE_", StringComparison.Ordinal);

    /// <summary>Device names: 1-32 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit.</summary>
    public static bool IsDeviceName(string? name) => name is not null && DeviceShape().IsMatch(name);

    /// <summary>Node label keys: 1-63 letters, digits, '.', '_', '-' or '/', starting with a letter or digit.</summary>
    public static bool IsLabelKey(string? key) => key is not null && LabelKeyShape().IsMatch(key);

    /// <summary>Node label values: 0-63 letters, digits, '.', '_' or '-'.</summary>
    public static bool IsLabelValue(string? value) => value is not null && LabelValueShape().IsMatch(value);

    /// <summary>
    /// Client-chosen request ids: 1-<see cref="Limits.MaxRequestIdLength"/> printable ASCII characters
    /// other than '/' (which ends the tenant in the placement grain's key) and space.
    /// </summary>
    public static bool IsRequestId(string? id) => id is { Length: > 0 and <= Limits.MaxRequestIdLength } && RequestIdShape().IsMatch(id);

    public static void ValidateRequestId(string? id)
    {
        if (!IsRequestId(id))
        {
            throw NefeleException.Bad($"request id '{Shorten(id)}' is invalid: use 1-{Limits.MaxRequestIdLength} printable ASCII characters other than '/' and space");
        }
    }

    /// <summary>An absolute path of at most <see cref="Limits.MaxPathBytes"/> bytes without NUL.</summary>
    public static bool IsAbsolutePath(string? path) =>
        path is { Length: > 0 } && path[0] == '/' && !path.Contains('\0', StringComparison.Ordinal) && Utf8Bytes(path) <= Limits.MaxPathBytes;

    /// <summary>
    /// A program as a spawn names it: an absolute path, or a bare name (no '/', as execvp takes it)
    /// that the node looks up in the process's PATH.
    /// </summary>
    public static bool IsProgram(string? path) =>
        IsAbsolutePath(path) || IsProgramName(path);

    /// <summary>A bare program name: no '/', not "." or "..", no NUL, at most 255 bytes (a file name).</summary>
    public static bool IsProgramName(string? name) =>
        name is { Length: > 0 } && name != "." && name != ".." && !name.Contains('/', StringComparison.Ordinal)
        && !name.Contains('\0', StringComparison.Ordinal) && Utf8Bytes(name) <= Limits.MaxFileNameBytes;

    /// <summary>The bytes <paramref name="s"/> takes in UTF-8.</summary>
    public static int Utf8Bytes(string s) => System.Text.Encoding.UTF8.GetByteCount(s);

    /// <summary>A caller's text as an error message may quote it: at most 80 characters.</summary>
    public static string Shorten(string? s) => s is null ? string.Empty : s.Length <= 80 ? s : s[..80] + "…";

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
    private static partial Regex TenantShape();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex ProcessShape();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex EnvShape();

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,31}$")]
    private static partial Regex DeviceShape();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$")]
    private static partial Regex LabelKeyShape();

    [GeneratedRegex("^[A-Za-z0-9._-]{0,63}$")]
    private static partial Regex LabelValueShape();

    [GeneratedRegex("^#[0-9]{1,9}$")]
    private static partial Regex ServiceIdShape();

    [GeneratedRegex("^[ -~]+$")]
    private static partial Regex TagShape();

    [GeneratedRegex("^[!-.0-~]+$")]
    private static partial Regex RequestIdShape();
}
