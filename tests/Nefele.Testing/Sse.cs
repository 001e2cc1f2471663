using System.Runtime.CompilerServices;

namespace Nefele.Testing;

/// <summary>Reads server-sent events: (event name, data lines joined with '\n').</summary>
public static class Sse
{
    public static async IAsyncEnumerable<(string Event, string Data)> ReadAsync(HttpResponseMessage response, [EnumeratorCancellation] CancellationToken ct = default)
    {
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        string name = "message";
        var data = new List<string>();
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (line.Length == 0)
            {
                if (data.Count > 0)
                {
                    yield return (name, string.Join('\n', data));
                }

                name = "message";
                data.Clear();
            }
            else if (line.StartsWith("event:", StringComparison.Ordinal))
            {
                name = line[6..].Trim();
            }
            else if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                data.Add(line[5..].StartsWith(' ') ? line[6..] : line[5..]);
            }
        }
    }

    /// <summary>Every event until the server closes the stream, bounded by <paramref name="timeout"/>.</summary>
    public static async Task<List<(string Event, string Data)>> ReadAllAsync(HttpClient http, string url, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        response.EnsureSuccessStatusCode();
        var events = new List<(string, string)>();
        await foreach (var e in ReadAsync(response, cts.Token))
        {
            events.Add(e);
        }

        return events;
    }
}
