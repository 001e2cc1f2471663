using System.Diagnostics.Metrics;
using Nefele.Observability;

namespace Nefele.Messaging;

/// <summary>Messaging's instruments (meter "Nefele.Messaging"); defined in <see cref="Instruments"/>.</summary>
internal static class MessagingTelemetry
{
    private static readonly Meter Meter = new("Nefele.Messaging");

    /// <summary>Message parts a router put on a lane toward a node or an external mailbox.</summary>
    public static readonly Counter<long> Routed = Instruments.MessagesRouted.Counter(Meter);

    /// <summary>Tagged with nefele.reason = the error code (node_unavailable, not_running, npid_not_found, mailbox_full, mailbox_idle, mailbox_closed).</summary>
    public static readonly Counter<long> Dropped = Instruments.MessagesDropped.Counter(Meter);
}
