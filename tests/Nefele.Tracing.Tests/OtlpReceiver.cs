using System.Diagnostics;
using System.Text.Json;

namespace Nefele.Tracing.Tests;

/// <summary>
/// tests/otlp-receiver (Node.js): a real OTLP/HTTP endpoint that decodes http/protobuf exports with
/// OpenTelemetry JS's generated protobuf definitions and writes each span and each log record as a
/// JSON line, which this class reads back. Disposing stops it by its pid.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private readonly Process _node;
    private readonly string _dir;

    private OtlpReceiver(Process node, string dir, int port)
    {
        _node = node;
        _dir = dir;
        Endpoint = new Uri($"http://127.0.0.1:{port}");
    }

    /// <summary>OTEL_EXPORTER_OTLP_ENDPOINT for an exporter (the signal paths /v1/traces etc. are under it).</summary>
    public Uri Endpoint { get; }

    private string SpansFile => Path.Combine(_dir, "spans.jsonl");

    private string LogsFile => Path.Combine(_dir, "logs.jsonl");

    public static async Task<OtlpReceiver> StartAsync()
    {
        var receiver = Path.Combine(RepoPaths.Root, "tests", "otlp-receiver");
        if (!Directory.Exists(Path.Combine(receiver, "node_modules", "@opentelemetry", "otlp-transformer")))
        {
            throw new InvalidOperationException($"the OTLP receiver's packages are not installed: run `npm ci` in {receiver} (scripts/test does)");
        }

        var dir = Directory.CreateTempSubdirectory("nefele-otlp-").FullName;
        var psi = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = receiver };
        psi.ArgumentList.Add(Path.Combine(receiver, "receiver.js"));
        psi.ArgumentList.Add(Path.Combine(dir, "spans.jsonl"));
        psi.ArgumentList.Add(Path.Combine(dir, "logs.jsonl"));
        var node = Process.Start(psi) ?? throw new InvalidOperationException("node did not start");
        using var deadline = new CancellationTokenSource(StartTimeout);
        var line = await node.StandardOutput.ReadLineAsync(deadline.Token);
        if (line is null || !line.StartsWith("listening ", StringComparison.Ordinal))
        {
            var error = await node.StandardError.ReadToEndAsync(deadline.Token);
            throw new InvalidOperationException($"the OTLP receiver did not start: {line} {error}");
        }

        return new OtlpReceiver(node, dir, int.Parse(line["listening ".Length..], System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>Every span received so far.</summary>
    public IReadOnlyList<ReceivedSpan> Spans() => ReadLines<ReceivedSpan>(SpansFile);

    /// <summary>Every log record received so far.</summary>
    public IReadOnlyList<ReceivedLogRecord> LogRecords() => ReadLines<ReceivedLogRecord>(LogsFile);

    private static List<T> ReadLines<T>(string file)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        var items = new List<T>();
        while (reader.ReadLine() is { } line)
        {
            // A line being appended may be cut short: it is read complete on the next poll.
            if (line.EndsWith('}'))
            {
                items.Add(JsonSerializer.Deserialize<T>(line, ReceivedSpan.Json)!);
            }
        }

        return items;
    }

    /// <summary>Polls until the spans of <paramref name="traceId"/> satisfy <paramref name="complete"/>; returns them.</summary>
    public async Task<IReadOnlyList<ReceivedSpan>> WaitForTraceAsync(string traceId, Func<IReadOnlyList<ReceivedSpan>, bool> complete, TimeSpan timeout, string what)
    {
        IReadOnlyList<ReceivedSpan> trace = [];
        try
        {
            await Eventually.Until(() =>
            {
                trace = [.. Spans().Where(s => s.TraceId == traceId)];
                return complete(trace);
            }, timeout, what);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; the trace has: {string.Join(", ", trace.Select(s => $"{s.Service}/{s.Name}"))}", e);
        }

        return trace;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_node.HasExited)
        {
            Interop.Kill(_node.Id, 15);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _node.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                _node.Kill();
            }
        }

        _node.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
