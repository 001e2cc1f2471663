using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Nefele.EndToEnd.Tests;

/// <summary>
/// A TCP forwarder on 127.0.0.1 in front of a node's API: a second endpoint for nef that can be
/// made to die as a node does (every connection reset, nothing listening any more).
/// </summary>
public sealed class CuttableProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _target;
    private readonly ConcurrentBag<Socket> _sockets = [];
    private readonly Task _accepting;
    private readonly StringBuilder _requests = new();
    private readonly StringBuilder _responses = new();

    public CuttableProxy(int targetPort)
    {
        _target = new IPEndPoint(IPAddress.Loopback, targetPort);
        _listener.Start();
        Url = $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";
        _accepting = AcceptAsync();
    }

    public string Url { get; }

    /// <summary>What clients sent through this proxy (request lines and headers included).</summary>
    public string Requests
    {
        get
        {
            lock (_requests)
            {
                return _requests.ToString();
            }
        }
    }

    /// <summary>What the node answered through this proxy.</summary>
    public string Responses
    {
        get
        {
            lock (_responses)
            {
                return _responses.ToString();
            }
        }
    }

    /// <summary>Dies as a killed node does: stops listening (later connections are refused) and resets every open connection.</summary>
    public void Cut()
    {
        _listener.Stop();
        foreach (var socket in _sockets)
        {
            try
            {
                socket.LingerState = new LingerOption(true, 0);
                socket.Close();
            }
            catch (ObjectDisposedException)
            {
                // Closed already.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Cut();
        await _accepting;
    }

    private async Task AcceptAsync()
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            _sockets.Add(client);
            _sockets.Add(server);
            try
            {
                await server.ConnectAsync(_target);
            }
            catch (SocketException)
            {
                client.Close();
                server.Close();
                continue;
            }

            _ = PumpAsync(client, server, _requests);
            _ = PumpAsync(server, client, _responses);
        }
    }

    private static async Task PumpAsync(Socket from, Socket to, StringBuilder record)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var n = await from.ReceiveAsync(buffer, SocketFlags.None);
                if (n == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                lock (record)
                {
                    record.Append(Encoding.ASCII.GetString(buffer, 0, n));
                }

                await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Cut, or the other side went away.
        }
    }
}
