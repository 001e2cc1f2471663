using System.Runtime.CompilerServices;
using System.Text;

namespace Nefele.Cli.Transport;

/// <summary>
/// Reads a text/event-stream. Lines are split on '\n' only, and a data line keeps any '\r' it
/// carries, so a log chunk the server split on '\n' comes back byte for byte when the event's
/// data lines are joined with '\n'.
/// </summary>
internal static class SseReader
{
    public static IAsyncEnumerable<SseEvent> ReadAsync(Stream stream, CancellationToken ct) => ReadAsync(stream, Timeout.InfiniteTimeSpan, ct);

    /// <summary>
    /// The events of <paramref name="stream"/>; a stream that sends nothing at all (not even a
    /// comment) for <paramref name="silenceLimit"/> throws <see cref="TimeoutException"/>.
    /// </summary>
    public static async IAsyncEnumerable<SseEvent> ReadAsync(Stream stream, TimeSpan silenceLimit, [EnumeratorCancellation] CancellationToken ct)
    {
        string? type = null;
        string? id = null;
        StringBuilder? data = null;
        var started = false;
        await foreach (var line in ReadLinesAsync(stream, silenceLimit, ct).ConfigureAwait(false))
        {
            if (line.Length == 0 || line == "\r")
            {
                if (started)
                {
                    yield return new SseEvent(string.IsNullOrEmpty(type) ? "message" : type, data?.ToString() ?? string.Empty, id);
                }

                type = null;
                id = null;
                data = null;
                started = false;
                continue;
            }

            if (line[0] == ':')
            {
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? string.Empty : line[(colon + 1)..];
            if (value.StartsWith(' '))
            {
                value = value[1..];
            }

            switch (field)
            {
                case "data":
                    if (data is null)
                    {
                        data = new StringBuilder(value);
                    }
                    else
                    {
                        data.Append('\n').Append(value);
                    }

                    started = true;
                    break;
                case "event":
                    type = value.TrimEnd('\r');
                    started = true;
                    break;
                case "id":
                    // The event's id: where a stream resumes after it (Last-Event-ID).
                    id = value.TrimEnd('\r');
                    break;
                default:
                    // retry and unknown fields: nef's own reconnection rule applies.
                    break;
            }
        }

        // An event not closed by a blank line before the stream ended is incomplete: dropped, as the SSE rules say.
    }

    private static async IAsyncEnumerable<string> ReadLinesAsync(Stream stream, TimeSpan silenceLimit, [EnumeratorCancellation] CancellationToken ct)
    {
        var buffer = new byte[16 * 1024];
        var pending = new MemoryStream();
        using var silence = CancellationTokenSource.CreateLinkedTokenSource(ct);
        while (true)
        {
            int n;
            silence.CancelAfter(silenceLimit);
            try
            {
                n = await stream.ReadAsync(buffer, silence.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException e) when (!ct.IsCancellationRequested && silence.IsCancellationRequested)
            {
                throw new TimeoutException($"nothing received for {silenceLimit.TotalSeconds:0.#} s", e);
            }
            if (n == 0)
            {
                yield break;
            }

            var start = 0;
            for (var i = 0; i < n; i++)
            {
                if (buffer[i] != (byte)'\n')
                {
                    continue;
                }

                string line;
                if (pending.Length == 0)
                {
                    line = Encoding.UTF8.GetString(buffer, start, i - start);
                }
                else
                {
                    pending.Write(buffer, start, i - start);
                    line = Encoding.UTF8.GetString(pending.GetBuffer(), 0, (int)pending.Length);
                    pending.SetLength(0);
                }

                start = i + 1;
                yield return line;
            }

            pending.Write(buffer, start, n - start);
        }
    }
}
