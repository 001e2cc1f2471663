using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Nefele.Errors;
using Nefele.HostAgent.Processes;
using Nefele.Protocol;
using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Shim;

/// <summary>
/// The api socket (NEFELE_SOCKET, mode 0666 so processes of any user can reach it): shim
/// handshakes and API calls from inside Nefele processes. Callers are identified by the
/// kernel (SO_PEERCRED), never by what they claim.
/// </summary>
public sealed class HandshakeServer(HostAgentOptions options, ProcessSupervisor supervisor, ILogger<HandshakeServer> logger) : IAsyncDisposable
{
    private readonly CancellationTokenSource stop = new();
    private Socket? listener;
    private Task? acceptLoop;

    public void Start()
    {
        listener = UnixSockets.Listen(options.ApiSocketPath,
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite);
        acceptLoop = AcceptLoopAsync(listener);
        logger.LogInformation("Api socket listening on {Path}", options.ApiSocketPath);
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

            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using var connection = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
        await using var stream = new NetworkStream(client, ownsSocket: true);
        using var writeLock = new SemaphoreSlim(1, 1);
        var inFlight = new List<Task>();

        async Task Reply(ProcResponse response)
        {
            await writeLock.WaitAsync(connection.Token);
            try
            {
                await FrameCodec.WriteAsync(stream, response, connection.Token);
            }
            finally
            {
                writeLock.Release();
            }
        }

        // Who is at the other end is settled once per connection, from what the kernel recorded at
        // connect: its pid and uid (SO_PEERCRED) and a pidfd of it (SO_PEERPIDFD, else opened now).
        var (peerPid, peerUid, _) = UnixSockets.PeerCredentials(client);
        SpawnTrace.Mark("h.accept", $"pid{peerPid}");
        var pidfd = UnixSockets.PeerPidFd(client);
        if (pidfd < 0)
        {
            pidfd = Interop.PidFd.Open(peerPid);
        }

        var peer = new Peer(peerPid, peerUid, pidfd);
        var reader = FrameCodec.Reader(stream);
        try
        {
            while (true)
            {
                var request = await FrameCodec.ReadAsync(reader, ProcRequest.Parser, connection.Token);
                if (request is null)
                {
                    break;
                }

                SpawnTrace.Mark("h.hello_read", $"pid{peerPid}");

                // Several calls may be in flight on one connection (a monitor can wait for hours).
                inFlight.RemoveAll(t => t.IsCompleted);
                inFlight.Add(AnswerAsync(request, peer, connection.Token).ContinueWith(
                    t => t.IsCompletedSuccessfully ? Reply(t.Result) : Task.CompletedTask, TaskScheduler.Default).Unwrap());
            }
        }
        catch (ProtocolException e)
        {
            logger.LogWarning("Bad frame on the api socket, closing the connection: {Error}", e.Message);
            try
            {
                await Reply(ProcessSupervisor.ErrorResponse(ErrorCodes.BadFrame, e.Message));
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException)
            {
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }

        // The peer half-closed (or broke) the connection: answers still owed are dropped with it.
        await connection.CancelAsync();
        try
        {
            await Task.WhenAll(inFlight);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }

        Interop.PidFd.Close(pidfd);
    }

    /// <summary>The connecting process as the kernel saw it; <see cref="Caller"/> is found at its first API call.</summary>
    private sealed class Peer(int pid, uint uid, int pidfd)
    {
        public int Pid { get; } = pid;

        public uint Uid { get; } = uid;

        public int PidFd { get; } = pidfd;

        public Lazy<CallerIdentity?>? Caller { get; set; }
    }

    private async Task<ProcResponse> AnswerAsync(ProcRequest request, Peer peer, CancellationToken ct)
    {
        if (request.BodyCase == ProcRequest.BodyOneofCase.Hello)
        {
            return await supervisor.HelloAsync(request.Hello, peer.Pid, peer.Uid, request.Id);
        }

        // Settled at the first call and kept for the connection's life.
        lock (peer)
        {
            peer.Caller ??= new Lazy<CallerIdentity?>(() => supervisor.IdentifyCaller(peer.Pid, peer.Uid, peer.PidFd));
        }

        if (peer.Caller.Value is not { } caller)
        {
            return WithId(request.Id, ProcessSupervisor.ErrorResponse(ErrorCodes.NotANefeleProcess,
                $"pid {peer.Pid} (uid {peer.Uid}) is neither a running Nefele process of node {options.Node} nor a descendant of one"));
        }

        switch (request.BodyCase)
        {
            case ProcRequest.BodyOneofCase.Self:
                return new ProcResponse { Id = request.Id, Self = new SelfReply { Npid = caller.Npid, Tenant = caller.Tenant, Node = options.Node } };
            case ProcRequest.BodyOneofCase.Spawn:
            case ProcRequest.BodyOneofCase.Monitor:
            case ProcRequest.BodyOneofCase.Kill:
            case ProcRequest.BodyOneofCase.Ps:
            case ProcRequest.BodyOneofCase.Logs:
                var response = await supervisor.ForwardAsync(caller.Tenant, caller.Npid, request, ct);
                return WithId(request.Id, response.Clone());
            default:
                return WithId(request.Id, ProcessSupervisor.ErrorResponse(ErrorCodes.BadRequest, $"request {request.BodyCase} is not supported"));
        }
    }

    private static ProcResponse WithId(ulong id, ProcResponse response)
    {
        response.Id = id;
        return response;
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        listener?.Dispose();
        if (acceptLoop is not null)
        {
            await acceptLoop;
        }

        UnixSockets.Remove(options.ApiSocketPath);
    }
}
