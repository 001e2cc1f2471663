using System.Diagnostics.Metrics;

namespace Nefele.Messaging;

/// <summary>Messaging's instruments (meter "Nefele.Messaging").</summary>
internal static class MessagingTelemetry
{
    private static readonly Meter Meter = new("Nefele.Messaging");

    /// <summary>Message parts a router put on a lane toward a node or an external mailbox.</summary>
    public static readonly Counter<long> Routed = Meter.CreateCounter<long>(
        "nefele.messaging.routed", description: "Messages a router queued toward another node or an external mailbox");

    /// <summary>Tagged with nefele.reason = the error code (node_unavailable, not_running, npid_not_found, mailbox_full, mailbox_idle, mailbox_closed).</summary>
    public static readonly Counter<long> Dropped = Meter.CreateCounter<long>(
        "nefele.messaging.dropped", description: "Unacknowledged messages that did not reach a mailbox, or were dropped with their external mailbox, by reason");
}
