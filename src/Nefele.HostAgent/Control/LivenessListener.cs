using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Nefele.Protocol;

namespace Nefele.HostAgent.Control;

/// <summary>
/// Answers other nodes' silos that this node is alive (<see cref="HostAgentOptions.LivenessPort"/>):
/// every connection gets one line, <c>nefele-hostd &lt;node&gt;</c>, and is closed. It reads
/// nothing, so there is nothing to send it; it tells only that hostd — and so the node's
/// processes — are still there when the node's silo is not.
/// </summary>
public sealed class LivenessListener(HostAgentOptions options, ILogger<LivenessListener> logger) : BackgroundService
{
    private static readonly TimeSpan SendBound = TimeSpan.FromSeconds(1);
    private Socket? _listener;

    /// <summary>Listens before hostd counts as started, so a port it cannot have stops it with that reason.</summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.LivenessPort != 0)
        {
            var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                listener.Bind(new IPEndPoint(IPAddress.Any, options.LivenessPort));
                listener.Listen(64);
            }
            catch (SocketException e)
            {
                listener.Dispose();
                throw new HostAgentStartupException($"HostAgent:LivenessPort (--liveness-port) {options.LivenessPort}: cannot listen there: {e.Message}");
            }

            _listener = listener;
        }

        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_listener is not { } listener)
        {
            return;
        }

        var greeting = Encoding.ASCII.GetBytes(LivenessGreeting.For(options.Node) + "\n");
        logger.LogInformation("Answering liveness probes on port {Port}", options.LivenessPort);
        while (!stoppingToken.IsCancellationRequested)
        {
            Socket peer;
            try
            {
                peer = await listener.AcceptAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (SocketException e)
            {
                logger.LogDebug(e, "A liveness probe's connection failed before it was accepted");
                continue;
            }

            _ = GreetAsync(peer, greeting);
        }
    }

    public override void Dispose()
    {
        _listener?.Dispose();
        base.Dispose();
    }

    private static async Task GreetAsync(Socket peer, byte[] greeting)
    {
        using (peer)
        {
            try
            {
                using var bounded = new CancellationTokenSource(SendBound);
                await peer.SendAsync(greeting, SocketFlags.None, bounded.Token);
                peer.Shutdown(SocketShutdown.Both);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The prober gave up or went away: nothing to tell it.
            }
        }
    }
}
