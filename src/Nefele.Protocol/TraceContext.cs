using System.Diagnostics;
using Nefele.Protocol.V1;

namespace Nefele.Protocol;

/// <summary>
/// The W3C trace context (traceparent, tracestate) carried by control frames
/// (<see cref="ControlRequest.Traceparent"/>, <see cref="ControlEvent.Traceparent"/>): written from
/// the sender's current span, read back as the parent of the receiver's span. With nothing traced
/// (no listener, so no current span) nothing is written and nothing is parsed.
/// </summary>
public static class TraceContext
{
    /// <summary>Stamps <paramref name="request"/> with the current span's context, if any.</summary>
    public static void Stamp(ControlRequest request)
    {
        if (Activity.Current is { IdFormat: ActivityIdFormat.W3C } current)
        {
            request.Traceparent = current.Id!;
            request.Tracestate = current.TraceStateString ?? string.Empty;
        }
    }

    /// <summary>Stamps <paramref name="ev"/> with <paramref name="span"/>'s context (the current span's when null), if any.</summary>
    public static void Stamp(ControlEvent ev, Activity? span = null)
    {
        if ((span ?? Activity.Current) is { IdFormat: ActivityIdFormat.W3C } current)
        {
            ev.Traceparent = current.Id!;
            ev.Tracestate = current.TraceStateString ?? string.Empty;
        }
    }

    /// <summary>
    /// The context a call from inside a Nefele process carries (SpawnRequest, KillRequest): the
    /// program's current span, else the TRACEPARENT / TRACESTATE hostd gave the process.
    /// </summary>
    public static (string Traceparent, string Tracestate) OfCaller() =>
        Activity.Current is { IdFormat: ActivityIdFormat.W3C } current
            ? (current.Id!, current.TraceStateString ?? string.Empty)
            : (Environment.GetEnvironmentVariable("TRACEPARENT") ?? string.Empty, Environment.GetEnvironmentVariable("TRACESTATE") ?? string.Empty);

    /// <summary>The remote parent a frame names; default (no parent) when it names none or a malformed one.</summary>
    public static ActivityContext Parent(string traceparent, string tracestate) =>
        traceparent.Length > 0 && ActivityContext.TryParse(traceparent, tracestate.Length > 0 ? tracestate : null, isRemote: true, out var context)
            ? context
            : default;

    /// <summary>The traceparent header value of <paramref name="context"/> (version 00).</summary>
    public static string Format(ActivityContext context) =>
        $"00-{context.TraceId.ToHexString()}-{context.SpanId.ToHexString()}-{((context.TraceFlags & ActivityTraceFlags.Recorded) != 0 ? "01" : "00")}";
}
