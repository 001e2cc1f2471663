using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Nefele.HostAgent;

/// <summary>The one ActivitySource and Meter of hostd, both named <c>Nefele.HostAgent</c>.</summary>
public static class HostAgentTelemetry
{
    public const string Name = "Nefele.HostAgent";

    public static readonly ActivitySource ActivitySource = new(Name);

    public static readonly Meter Meter = new(Name);

    public static readonly Counter<long> ProcessStarts =
        Meter.CreateCounter<long>("nefele.process.starts", unit: "{process}", description: "Processes that reached Running");

    public static readonly Counter<long> ProcessExits =
        Meter.CreateCounter<long>("nefele.process.exits", unit: "{process}", description: "Processes that exited after Running");

    public static readonly Counter<long> MessagesDropped =
        Meter.CreateCounter<long>("nefele.messaging.dropped", unit: "{message}", description: "Messages dropped: queued when their mailbox ended (reason mailbox_ended), or sent without ack to a process that had ended (reason receiver_ended)");
}
