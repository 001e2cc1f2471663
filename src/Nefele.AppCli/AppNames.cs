namespace Nefele.AppCli;

/// <summary>An application NAME is the durable supervisor app.NAME of the tenant, with one child, "app".</summary>
internal static class AppNames
{
    public const string Prefix = "app.";

    public const string Child = "app";

    public static string Supervisor(string name) => Prefix + name;
}
