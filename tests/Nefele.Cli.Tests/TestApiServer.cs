using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Nefele.Cli.Tests;

/// <summary>A tiny HTTP server on 127.0.0.1 that records requests and answers with canned responses.</summary>
internal sealed class TestApiServer : IAsyncDisposable
{
    private readonly HttpListener listener = new();
    private readonly Func<RecordedRequest, HttpListenerResponse, Task> respond;
    private readonly Task loop;

    public TestApiServer(Func<RecordedRequest, HttpListenerResponse, Task> respond)
    {
        this.respond = respond;
        Port = FreePort();
        Url = $"http://127.0.0.1:{Port}";
        listener.Prefixes.Add(Url + "/");
        listener.Start();
        loop = Task.Run(ServeAsync);
    }

    public int Port { get; }

    public string Url { get; }

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public static async Task WriteAsync(HttpListenerResponse response, int status, string contentType, string body)
    {
        response.StatusCode = status;
        response.ContentType = contentType;
        var bytes = Encoding.UTF8.GetBytes(body);
        response.ContentLength64 = bytes.Length;
        await response.OutputStream.WriteAsync(bytes);
        response.Close();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            listener.Stop();
            listener.Close();
        }
        catch (HttpListenerException)
        {
            // The managed listener's stop looks its endpoint up again and may try to bind the port
            // anew (which another test may hold by then): it is stopped all the same.
        }

        try
        {
            await loop;
        }
        catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
        {
            // Stopping the listener ends the accept loop this way.
        }
    }

    private async Task ServeAsync()
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
            var request = new RecordedRequest(
                context.Request.HttpMethod,
                context.Request.Url!.PathAndQuery,
                context.Request.ContentType,
                context.Request.Headers["Accept"],
                await reader.ReadToEndAsync());
            Requests.Enqueue(request);
            await respond(request, context.Response);
        }
    }
}
