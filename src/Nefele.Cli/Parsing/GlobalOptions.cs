namespace Nefele.Cli.Parsing;

/// <summary>Options every command accepts: where the API is, which tenant, and help.</summary>
internal sealed class GlobalOptions
{
    public const string DefaultApi = "http://127.0.0.1:7400";
    public const string DefaultTenant = "default";

    public string? Tenant { get; private set; }

    public string? Api { get; private set; }

    public bool Help { get; private set; }

    public bool Version { get; private set; }

    /// <summary>Consumes <paramref name="token"/> (and its value) when it is a global option.</summary>
    public bool TryTake(string token, ArgCursor cursor)
    {
        var (name, inline) = ArgCursor.Split(token);
        switch (name)
        {
            case "--tenant":
                var tenant = cursor.TakeValue(name, inline);
                if (!Validation.Names.IsTenantName(tenant))
                {
                    throw new UsageException($"--tenant: '{Validation.Names.Shorten(tenant)}' is not a tenant name (1-63 lowercase letters, digits or '-', starting and ending with a letter or digit)");
                }

                Tenant = tenant;
                return true;
            case "--api":
                Api = cursor.TakeValue(name, inline);
                return true;
            case "-h" or "--help" when inline is null:
                Help = true;
                return true;
            case "--version" when inline is null:
                Version = true;
                return true;
            default:
                return false;
        }
    }

    public string ResolveTenant(Func<string, string?> env) =>
        Tenant ?? NonEmpty(env("NEFELE_TENANT")) ?? DefaultTenant;

    /// <summary>
    /// The API endpoints, in the order to try them: --api, else $NEFELE_API, else the "api" line
    /// of the config file (~/.config/nefele/config), else the local default. Each may list
    /// several, separated by commas (nodes of one cluster; nef fails over between them).
    /// </summary>
    public IReadOnlyList<Uri> ResolveApis(Func<string, string?> env)
    {
        var (text, source) = Api is not null ? (Api, "--api")
            : NonEmpty(env("NEFELE_API")) is { } fromEnv ? (fromEnv, "NEFELE_API")
            : Auth.CredentialSources.ReadSetting(Auth.CredentialSources.ConfigFileFrom(env), "api") is { } fromConfig
                ? (fromConfig, "api in " + Auth.CredentialSources.ConfigFileFrom(env))
            : (DefaultApi, "the default API");
        var apis = new List<Uri>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (part.Length == 0)
            {
                continue;
            }

            if (!Uri.TryCreate(part, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                throw new UsageException($"{source}: '{part}' is not an http:// or https:// URL");
            }

            apis.Add(uri);
        }

        return apis.Count > 0 ? apis : throw new UsageException($"{source}: no URL given (one, or several separated by commas)");
    }

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
