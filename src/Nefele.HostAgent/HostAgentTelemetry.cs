using System.Diagnostics;
using System.Diagnostics.Metrics;
using Nefele.Observability;

namespace Nefele.HostAgent;

/// <summary>The one ActivitySource and Meter of hostd, both named <c>Nefele.HostAgent</c>; instruments defined in <see cref="Instruments"/>.</summary>
public static class HostAgentTelemetry
{
    public const string Name = "Nefele.HostAgent";

    public static readonly ActivitySource ActivitySource = new(Name);

    public static readonly Meter Meter = new(Name);

    public static readonly Counter<long> ProcessStarts = Instruments.HostdLaunches.Counter(Meter);

    public static readonly Counter<long> ProcessExits = Instruments.HostdExits.Counter(Meter);

    /// <summary>Tagged with nefele.reason: mailbox_ended (queued when their mailbox ended) or receiver_ended (sent without ack to a process that had ended).</summary>
    public static readonly Counter<long> MessagesDropped = Instruments.MessagesDropped.Counter(Meter);

    /// <summary>Tagged with nefele.exporter: otlp or jsonl.</summary>
    public static readonly Counter<long> LogExportDropped = Instruments.HostdLogExportDropped.Counter(Meter);
}
