using System.Diagnostics;

namespace Nefele.HostAgent;

/// <summary>
/// hostd's spans (source <see cref="HostAgentTelemetry.ActivitySource"/>). A launch's spans start on
/// one thread and end on another (the handshake's), so they are started detached: the caller's
/// <see cref="Activity.Current"/> is left as it was. With nothing listening nothing is made.
/// </summary>
internal static class HostAgentSpans
{
    /// <summary>Starts a span under <paramref name="parent"/> (a root when default) without making it current.</summary>
    public static Activity? StartDetached(string name, ActivityKind kind, ActivityContext parent, ActivityLink[]? links = null)
    {
        if (!HostAgentTelemetry.ActivitySource.HasListeners())
        {
            return null;
        }

        var previous = Activity.Current;
        var span = HostAgentTelemetry.ActivitySource.StartActivity(name, kind, parent, links: links);
        Activity.Current = previous;
        return span;
    }

    /// <summary>Ends <paramref name="span"/> as failed with <paramref name="description"/>.</summary>
    public static void Fail(Activity? span, string description)
    {
        span?.SetStatus(ActivityStatusCode.Error, description);
        span?.Stop();
    }
}
