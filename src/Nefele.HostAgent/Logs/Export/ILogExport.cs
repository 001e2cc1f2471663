using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Logs.Export;

/// <summary>
/// A store process output is sent to as hostd records it (OTLP logs, a JSON-lines file). An export
/// holds records in a bounded queue and drops what does not fit: a slow or failing store never
/// slows, blocks or stops a process.
/// </summary>
public interface ILogExport : IAsyncDisposable
{
    /// <summary>The export's name in <c>nefele.exporter</c>: otlp or jsonl.</summary>
    string Name { get; }

    /// <summary>Queues one output record; never waits for I/O and never throws.</summary>
    /// <param name="timeUnixNano">When hostd read it, as in the record's header.</param>
    void Export(OutputOrigin origin, LogStream stream, long timeUnixNano, ReadOnlySpan<byte> data);
}
