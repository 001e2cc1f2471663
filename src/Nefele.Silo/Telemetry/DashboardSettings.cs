using Nefele.Silo.Api;

namespace Nefele.Silo.Telemetry;

/// <summary>
/// The Orleans dashboard (Microsoft.Orleans.Dashboard): an operator's view of grains and silos,
/// off by default. <c>--dashboard [PORT]</c> serves it on its own port, on the API's host (loopback
/// unless --api-allow-remote), without a key: it shows every tenant's grains, so reach it through
/// a tunnel rather than opening it to a network. The management API does not answer on that port,
/// nor the dashboard on the API's.
/// </summary>
internal sealed class DashboardSettings
{
    public const string Section = "Dashboard";

    public const string Flag = "--dashboard";

    /// <summary>The port when <c>--dashboard</c> names none (the Orleans dashboard's customary port).</summary>
    public const int DefaultPort = 8080;

    /// <summary>Marks the dashboard's endpoints, the only ones its port serves.</summary>
    public static readonly object Marker = new DashboardEndpoint();

    /// <summary>Serve the dashboard. Default false.</summary>
    public bool Enabled { get; set; }

    /// <summary>The dashboard's own port. Default <see cref="DefaultPort"/>.</summary>
    public int Port { get; set; } = DefaultPort;

    /// <summary><c>--dashboard</c> and <c>--dashboard PORT</c> (or <c>--dashboard=PORT</c>) as configuration keys.</summary>
    public static string[] Expand(string[] args)
    {
        var expanded = new List<string>(args.Length);
        for (var i = 0; i < args.Length; i++)
        {
            string? port;
            if (args[i] == Flag)
            {
                port = i + 1 < args.Length && !args[i + 1].StartsWith('-') ? args[++i] : null;
            }
            else if (args[i].StartsWith(Flag + "=", StringComparison.Ordinal))
            {
                port = args[i][(Flag.Length + 1)..];
            }
            else
            {
                expanded.Add(args[i]);
                continue;
            }

            expanded.Add($"--{Section}:Enabled=true");
            if (port is not null)
            {
                expanded.Add($"--{Section}:Port={port}");
            }
        }

        return [.. expanded];
    }

    /// <summary>What is wrong with these settings beside the API's, or null.</summary>
    public string? Problem(ApiOptions api)
    {
        if (!Enabled)
        {
            return null;
        }

        if (Port is < 1 or > 65535)
        {
            return $"--dashboard port {Port} is out of range: allowed 1-65535";
        }

        return Uri.TryCreate(api.Url, UriKind.Absolute, out var uri) && uri.Port == Port
            ? $"--dashboard port {Port} is the API's own port ({api.Url}): choose another"
            : null;
    }

    /// <summary>The dashboard's URL: the API's scheme and host, on <see cref="Port"/>.</summary>
    public string Url(ApiOptions api) => new UriBuilder(api.Url) { Port = Port, Path = "/" }.Uri.ToString().TrimEnd('/');

    /// <summary>Answers 404 to a dashboard route on the API's port and to an API route on the dashboard's.</summary>
    public Task KeepToItsPort(HttpContext context, RequestDelegate next)
    {
        var dashboardRoute = context.GetEndpoint()?.Metadata.GetMetadata<DashboardEndpoint>() is not null;
        if (dashboardRoute != (context.Connection.LocalPort == Port))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }

        return next(context);
    }

    private sealed class DashboardEndpoint;
}
