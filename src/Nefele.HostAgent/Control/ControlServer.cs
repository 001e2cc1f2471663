using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Nefele.Client;
using Nefele.Errors;
using Nefele.HostAgent.Processes;
using Nefele.Protocol;
using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Control;

/// <summary>
/// The control socket: mode 0600, owned by the silo's uid. A connection is served only if its
/// peer is that uid (SO_PEERCRED), its first request is an attach carrying the node's control
/// secret, and no other silo connection lives; otherwise it gets an Error and is closed. A
/// restarted silo is not held up by this: the kernel closes a dead process's socket at once, so
/// its predecessor's session ends before the new one attaches (the silo retries until then).
/// </summary>
public sealed class ControlServer(HostAgentOptions options, ProcessSupervisor supervisor, NodeFactsProvider facts, Networking.TenantNetworks networks, Images.OverlayCommitter committer, ILogger<ControlServer> logger) : IAsyncDisposable
{
    // A peer that connects and says nothing is dropped after this long.
    private static readonly TimeSpan FirstRequestTimeout = TimeSpan.FromSeconds(10);
    private readonly CancellationTokenSource stop = new();
    private readonly Lock gate = new();
    private byte[] secret = [];
    private Socket? listener;
    private Task? acceptLoop;
    private ControlSession? current;

    /// <exception cref="HostAgentStartupException">The control secret file is unusable.</exception>
    public void Start()
    {
        secret = ControlSecret.LoadOrCreate(options.ControlSecretFile, options.SiloUid);
        listener = UnixSockets.Listen(options.ControlSocketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Interop.LibC.ChownOrThrow(options.ControlSocketPath, options.SiloUid);
        acceptLoop = AcceptLoopAsync(listener);
        logger.LogInformation("Control socket listening on {Path} for uid {Uid}", options.ControlSocketPath, options.SiloUid);
    }

    /// <summary>Waits (bounded) until events queued for the silo have been written.</summary>
    public Task FlushAsync(TimeSpan within)
    {
        ControlSession? session;
        lock (gate)
        {
            session = current;
        }

        return session?.FlushAsync(within) ?? Task.CompletedTask;
    }

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

            _ = AdmitAsync(client);
        }
    }

    /// <summary>Checks who connected and what it sent first; serves it as the silo or refuses it.</summary>
    private async Task AdmitAsync(Socket client)
    {
        var stream = new NetworkStream(client, ownsSocket: true);
        ControlSession? session = null;
        try
        {
            var (pid, uid, _) = UnixSockets.PeerCredentials(client);
            if (uid != options.SiloUid)
            {
                await RefuseAsync(stream, ErrorCodes.Unauthenticated, $"the control socket serves only the silo's uid {options.SiloUid}; pid {pid} is uid {uid}", pid);
                return;
            }

            ControlRequest? first;
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop.Token))
            {
                timeout.CancelAfter(FirstRequestTimeout);
                try
                {
                    first = await FrameCodec.ReadAsync(stream, ControlRequest.Parser, timeout.Token);
                }
                catch (OperationCanceledException) when (!stop.IsCancellationRequested)
                {
                    await RefuseAsync(stream, ErrorCodes.Unauthenticated, $"no attach request within {FirstRequestTimeout.TotalSeconds:0} s", pid);
                    return;
                }
                catch (ProtocolException e)
                {
                    await RefuseAsync(stream, ErrorCodes.BadFrame, e.Message, pid);
                    return;
                }
            }

            if (first is null)
            {
                return;
            }

            if (first.BodyCase != ControlRequest.BodyOneofCase.Attach || !ControlSecret.Matches(secret, first.Attach.Secret.Span))
            {
                var what = first.BodyCase != ControlRequest.BodyOneofCase.Attach
                    ? $"the first request must be an attach, not {first.BodyCase}"
                    : "the attach does not carry this node's control secret";
                await RefuseAsync(stream, ErrorCodes.Unauthenticated, what, pid, first.Id);
                return;
            }

            for (var attempt = 0; ; attempt++)
            {
                ControlSession? gone = null;
                lock (gate)
                {
                    if (current is null)
                    {
                        session = new ControlSession(stream, supervisor, facts, networks, committer, logger);
                        current = session;
                    }
                    else if (attempt == 0 && current.PeerClosed())
                    {
                        // The previous silo closed its end (the kernel already knows; our reader may not yet): it is no rival.
                        gone = current;
                    }
                }

                if (session is not null || gone is null)
                {
                    break;
                }

                await gone.CloseAsync();
                lock (gate)
                {
                    if (ReferenceEquals(current, gone))
                    {
                        current = null;
                    }
                }
            }

            if (session is null)
            {
                await RefuseAsync(stream, ErrorCodes.AlreadyAttached, $"another silo connection is attached to node {options.Node}'s hostd; a second one is refused while it lives", pid, first.Id);
                return;
            }

            logger.LogInformation("Silo attached (pid {Pid})", pid);
            await session.RunAsync(first);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException or ProtocolException)
        {
            logger.LogDebug("Control connection ended before it was served: {Error}", e.Message);
        }
        finally
        {
            lock (gate)
            {
                if (session is not null && ReferenceEquals(current, session))
                {
                    current = null;
                }
            }

            if (session is null)
            {
                await stream.DisposeAsync();
            }
        }
    }

    private async Task RefuseAsync(NetworkStream stream, string code, string message, int pid, ulong id = 0)
    {
        logger.LogWarning("Refused a control connection from pid {Pid}: {Reason}", pid, message);
        using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await FrameCodec.WriteAsync(stream, new ControlEvent { Id = id, Error = new Error { Code = code, Message = message } }, bounded.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        listener?.Dispose();
        if (acceptLoop is not null)
        {
            await acceptLoop;
        }

        ControlSession? session;
        lock (gate)
        {
            session = current;
        }

        if (session is not null)
        {
            await session.CloseAsync();
        }

        UnixSockets.Remove(options.ControlSocketPath);
    }
}
