using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Nefele.HostAgent.Processes;

namespace Nefele.HostAgent.Control;

/// <summary>
/// The control socket (mode 0600: only root may drive hostd). One silo connection at a time:
/// a new connection replaces the old one, since a restarted silo must not wait for the
/// kernel to notice its predecessor's socket is dead.
/// </summary>
public sealed class ControlServer(HostAgentOptions options, ProcessSupervisor supervisor, NodeFactsProvider facts, ILogger<ControlServer> logger) : IAsyncDisposable
{
    private readonly CancellationTokenSource stop = new();
    private Socket? listener;
    private Task? acceptLoop;
    private ControlSession? current;

    public void Start()
    {
        listener = UnixSockets.Listen(options.ControlSocketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        acceptLoop = AcceptLoopAsync(listener);
        logger.LogInformation("Control socket listening on {Path}", options.ControlSocketPath);
    }

    /// <summary>Waits (bounded) until events queued for the silo have been written.</summary>
    public Task FlushAsync(TimeSpan within) => current?.FlushAsync(within) ?? Task.CompletedTask;

    private async Task AcceptLoopAsync(Socket server)
    {
        while (!stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await server.AcceptAsync(stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                break;
            }

            var session = new ControlSession(client, supervisor, facts, logger);
            var previous = Interlocked.Exchange(ref current, session);
            if (previous is not null)
            {
                logger.LogInformation("A new silo connection replaces the previous one");
                await previous.CloseAsync();
            }

            _ = session.RunAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        listener?.Dispose();
        if (acceptLoop is not null)
        {
            await acceptLoop;
        }

        if (current is not null)
        {
            await current.CloseAsync();
        }

        UnixSockets.Remove(options.ControlSocketPath);
    }
}
