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
    public static async IAsyncEnumerable<SseEvent> ReadAsync(Stream stream, [EnumeratorCancellation] CancellationToken ct)
    {
        string? type = null;
        StringBuilder? data = null;
        var started = false;
        await foreach (var line in ReadLinesAsync(stream, ct).ConfigureAwait(false))
        {
            if (line.Length == 0 || line == "\r")
            {
                if (started)
                {
                    yield return new SseEvent(string.IsNullOrEmpty(type) ? "message" : type, data?.ToString() ?? string.Empty);
                }

                type = null;
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
                default:
                    // id, retry and unknown fields: nef neither resumes nor retries.
                    break;
            }
        }

        // An event not closed by a blank line before the stream ended is incomplete: dropped, as the SSE rules say.
    }

    private static async IAsyncEnumerable<string> ReadLinesAsync(Stream stream, [EnumeratorCancellation] CancellationToken ct)
    {
        var buffer = new byte[16 * 1024];
        var pending = new MemoryStream();
        while (true)
        {
            var n = await stream.ReadAsync(buffer, ct).ConfigureAwait(false);
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
