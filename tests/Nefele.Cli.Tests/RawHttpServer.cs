using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Nefele.Cli.Tests;

/// <summary>
/// A TCP server on 127.0.0.1 that answers every connection with given raw bytes (in the pieces
/// given, so an answer can arrive split anywhere), then closes it; it records each request as sent.
/// For what an HTTP library would not send: chunk extensions, no length, a malformed answer.
/// </summary>
internal sealed class RawHttpServer : IAsyncDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly Func<string, IReadOnlyList<byte[]>> answer;
    private readonly Task loop;

    public RawHttpServer(Func<string, IReadOnlyList<byte[]>> answer)
    {
        this.answer = answer;
        listener.Start();
        Url = $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}";
        loop = Task.Run(ServeAsync);
    }

    public RawHttpServer(params string[] pieces)
        : this(_ => [.. pieces.Select(p => Encoding.UTF8.GetBytes(p))])
    {
    }

    public string Url { get; }

    /// <summary>Each request's head and body, as received.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    public async ValueTask DisposeAsync()
    {
        listener.Stop();
        try
        {
            await loop;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // Stopping the listener ends the accept loop this way.
        }
    }

    private async Task ServeAsync()
    {
        while (true)
        {
            using var client = await listener.AcceptTcpClientAsync();
            var stream = client.GetStream();
            var request = await ReadRequestAsync(stream);
            Requests.Enqueue(request);
            foreach (var piece in answer(request))
            {
                await stream.WriteAsync(piece);
                await stream.FlushAsync();
            }

            client.Client.Shutdown(SocketShutdown.Both);
        }
    }

    private static async Task<string> ReadRequestAsync(NetworkStream stream)
    {
        var received = new List<byte>();
        var buffer = new byte[4096];
        while (true)
        {
            var text = Encoding.UTF8.GetString(received.ToArray());
            var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end >= 0)
            {
                var length = text[..end].Split("\r\n")
                    .Where(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                    .Select(l => int.Parse(l["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture))
                    .FirstOrDefault();
                if (received.Count >= end + 4 + length)
                {
                    return text;
                }
            }

            var read = await stream.ReadAsync(buffer);
            if (read == 0)
            {
                return Encoding.UTF8.GetString(received.ToArray());
            }

            received.AddRange(buffer.AsSpan(0, read));
        }
    }
}
