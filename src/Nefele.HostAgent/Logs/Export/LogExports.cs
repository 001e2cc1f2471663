using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Logs.Export;

/// <summary>The node's log exports (<c>--log-export otlp</c>, <c>--log-export-file</c>); none by default.</summary>
public sealed class LogExports(IReadOnlyList<ILogExport> exports) : IAsyncDisposable
{
    /// <summary>
    /// The most output bytes one export holds while its store catches up, whatever the record count
    /// (a record is up to 16 KiB, so <c>--log-export-queue</c> alone could hold a lot): 32 MiB.
    /// </summary>
    public const long MaxQueuedBytes = 32L << 20;

    public static readonly LogExports None = new([]);

    public bool Any => exports.Count > 0;

    public IReadOnlyList<ILogExport> Exports => exports;

    /// <summary>Hands one output record to every export (each queues it or drops it; none waits).</summary>
    public void Export(OutputOrigin origin, LogStream stream, long timeUnixNano, ReadOnlySpan<byte> data)
    {
        foreach (var export in exports)
        {
            export.Export(origin, stream, timeUnixNano, data);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var export in exports)
        {
            await export.DisposeAsync().ConfigureAwait(false);
        }
    }
}
