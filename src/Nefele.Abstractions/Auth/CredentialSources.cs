using Nefele.Client;

namespace Nefele.Auth;

/// <summary>
/// Where a tool or program finds its API key when it is not given one, in order (as kubectl finds
/// its kubeconfig): the NEFELE_TOKEN variable; the <c>token</c> line of the user's config file
/// (<c>$XDG_CONFIG_HOME/nefele/config</c>, else <c>~/.config/nefele/config</c>); the node's admin key
/// file that scripts/up writes (<c>/etc/nefele/admin.key</c>, root only; NEFELE_ADMIN_KEY_FILE
/// overrides the path). Shared by nef and the SDK.
/// </summary>
public static class CredentialSources
{
    public const string TokenVariable = "NEFELE_TOKEN";
    public const string AdminKeyFileVariable = "NEFELE_ADMIN_KEY_FILE";
    public const string DefaultAdminKeyFile = "/etc/nefele/admin.key";

    public static string ConfigFile => ConfigFileFrom(Environment.GetEnvironmentVariable);

    public static string ConfigFileFrom(Func<string, string?> env)
    {
        var xdg = env("XDG_CONFIG_HOME");
        var home = env("HOME") is { Length: > 0 } h ? h : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var root = string.IsNullOrEmpty(xdg) ? Path.Combine(home, ".config") : xdg;
        return Path.Combine(root, "nefele", "config");
    }

    /// <summary>The first key found, or null when there is none anywhere.</summary>
    public static string? Find() => Find(Environment.GetEnvironmentVariable);

    /// <summary>As <see cref="Find()"/>, reading variables through <paramref name="env"/>.</summary>
    public static string? Find(Func<string, string?> env)
    {
        if (env(TokenVariable) is { Length: > 0 } fromEnvironment)
        {
            return fromEnvironment.Trim();
        }

        if (ReadSetting(ConfigFileFrom(env), "token") is { } fromConfig)
        {
            return fromConfig;
        }

        var adminFile = env(AdminKeyFileVariable) is { Length: > 0 } path ? path : DefaultAdminKeyFile;
        return ReadFirstLine(adminFile);
    }

    /// <summary>A "name = value" setting of a config file ('#' starts a comment); null when the file or setting is absent.</summary>
    public static string? ReadSetting(string file, string name)
    {
        // Absent is the usual case: asked first, as a thrown and caught exception costs a command ~1 ms.
        if (!File.Exists(file))
        {
            return null;
        }

        string[] lines;
        try
        {
            lines = File.ReadAllLines(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && line[..eq].Trim() == name && line[(eq + 1)..].Trim() is { Length: > 0 } value)
            {
                return value;
            }
        }

        return null;
    }

    private static string? ReadFirstLine(string file)
    {
        if (!File.Exists(file))
        {
            return null;
        }

        try
        {
            return File.ReadLines(file).FirstOrDefault()?.Trim() is { Length: > 0 } line ? line : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
