using System.Buffers.Binary;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Nefele.Client;
using Nefele.Errors;
using Nefele.HostAgent.Messaging;
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
    // How long the accepting thread waits for a new connection's first frame before it leaves the
    // connection to the asynchronous reader: the shim sends its hello right after connect, so it
    // is normally there already or within microseconds; a peer that sends nothing costs this once.
    private static readonly TimeSpan FirstFrameWait = TimeSpan.FromMilliseconds(1);

    // How often the accepting thread looks at the stop flag while no one connects (stopping also
    // shuts the listener down, which wakes it at once).
    private static readonly TimeSpan StopCheck = TimeSpan.FromMilliseconds(500);
    private readonly CancellationTokenSource stop = new();
    private Socket? listener;
    private Thread? acceptThread;

    public void Start()
    {
        listener = UnixSockets.Listen(options.ApiSocketPath,
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite);

        // A readable listener may have nothing to accept by the time accept runs (the peer gave up).
        listener.Blocking = false;
        var server = listener;
        acceptThread = new Thread(() => AcceptLoop(server)) { IsBackground = true, Name = "nefele api accept" };
        acceptThread.Start();
        logger.LogInformation("Api socket listening on {Path}", options.ApiSocketPath);
    }

    /// <summary>
    /// Accepts on a thread of its own and serves each connection's first frame there when it has
    /// arrived (a shim's hello, sent right after connect): the kernel wakes this thread directly,
    /// and the hello's Launched frame to the silo is written from it, with no thread-pool hop
    /// between the connect and the reply. Later frames are read asynchronously.
    /// </summary>
    private void AcceptLoop(Socket server)
    {
        var stopCheckMicros = (int)(StopCheck.Ticks / TimeSpan.TicksPerMicrosecond);
        while (!stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                if (!server.Poll(stopCheckMicros, SelectMode.SelectRead))
                {
                    continue;
                }

                client = server.Accept();
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.ConnectionAborted or SocketError.Interrupted)
            {
                continue;
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException)
            {
                break;
            }

            byte[]? first;
            try
            {
                client.Blocking = true;
                first = ReadFirstFrame(client);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                client.Dispose();
                continue;
            }

            _ = ServeAsync(client, first);
        }
    }

    /// <summary>The body of the connection's first frame if it is all there within <see cref="FirstFrameWait"/>, else null (nothing is consumed then).</summary>
    private static byte[]? ReadFirstFrame(Socket client)
    {
        if (!client.Poll((int)(FirstFrameWait.Ticks / TimeSpan.TicksPerMicrosecond), SelectMode.SelectRead))
        {
            return null;
        }

        Span<byte> header = stackalloc byte[4];
        if (client.Available < header.Length || client.Receive(header, SocketFlags.Peek) < header.Length)
        {
            return null;
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (length > FrameCodec.MaxFrameBytes || client.Available < header.Length + (long)length)
        {
            return null;
        }

        var frame = new byte[header.Length + length];
        var got = 0;
        while (got < frame.Length)
        {
            var n = client.Receive(frame.AsSpan(got), SocketFlags.None);
            if (n == 0)
            {
                throw new SocketException((int)SocketError.ConnectionReset);
            }

            got += n;
        }

        return frame[header.Length..];
    }

    private async Task ServeAsync(Socket client, byte[]? first)
    {
        using var connection = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);

        // Reads are asynchronous; writes go through ApiConnection, which never blocks, so the
        // socket is non-blocking from here on (a NetworkStream wants a blocking one to start with).
        await using var stream = new NetworkStream(client, ownsSocket: true);
        client.Blocking = false;
        var writer = new ApiConnection(client);
        var inFlight = new List<Task>();

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
        var reader = new FrameReader(stream);
        try
        {
            while (true)
            {
                var request = first is not null
                    ? FrameCodec.Parse(first, ProcRequest.Parser)
                    : await reader.ReadAsync(ProcRequest.Parser, connection.Token);
                first = null;
                if (request is null)
                {
                    break;
                }

                SpawnTrace.Mark("h.hello_read", $"pid{peerPid}");

                // More requests came in the same receive (a pipelining client): their answers
                // leave together once the last of them is handled.
                if (reader.HasBuffered)
                {
                    writer.Hold();
                }

                // Messaging is answered from the node's mailboxes and tables by this thread, or, for
                // a receive or a wait, later by whichever thread settles it.
                if (TryMessaging(request, peer, writer))
                {
                    FlushUnlessMore(reader, writer);
                    continue;
                }

                // Several calls may be in flight on one connection (a monitor can wait for hours).
                // An answer decided at once (a hello) is written by this thread.
                inFlight.RemoveAll(t => t.IsCompleted);
                var answer = AnswerAsync(request, peer, connection.Token);
                if (answer.IsCompletedSuccessfully)
                {
                    writer.Send(answer.Result);
                }
                else
                {
                    inFlight.Add(answer.ContinueWith(
                        t =>
                        {
                            if (t.IsCompletedSuccessfully)
                            {
                                writer.Send(t.Result);
                            }
                        },
                        CancellationToken.None,
                        TaskContinuationOptions.ExecuteSynchronously,
                        TaskScheduler.Default));
                }

                FlushUnlessMore(reader, writer);
            }
        }
        catch (ProtocolException e)
        {
            logger.LogWarning("Bad frame on the api socket, closing the connection: {Error}", e.Message);
            writer.Send(ProcessSupervisor.ErrorResponse(ErrorCodes.BadFrame, e.Message));
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }

        // The peer half-closed (or broke) the connection: answers still owed are dropped with it.
        writer.Close();
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

    private static void FlushUnlessMore(FrameReader reader, ApiConnection writer)
    {
        if (!reader.HasBuffered)
        {
            writer.Flush();
        }
    }

    /// <summary>The connecting process as the kernel saw it; <see cref="Caller"/> is found at its first API call.</summary>
    private sealed class Peer(int pid, uint uid, int pidfd)
    {
        public int Pid { get; } = pid;

        public uint Uid { get; } = uid;

        public int PidFd { get; } = pidfd;

        public Lazy<CallerIdentity?>? Caller { get; set; }
    }

    /// <summary>The Nefele process the peer speaks for, settled at its first call and kept for the connection's life.</summary>
    private CallerIdentity? Identify(Peer peer)
    {
        lock (peer)
        {
            peer.Caller ??= new Lazy<CallerIdentity?>(() => supervisor.IdentifyCaller(peer.Pid, peer.Uid, peer.PidFd));
        }

        return peer.Caller.Value;
    }

    private ProcResponse NotANefeleProcess(Peer peer, ulong id) =>
        WithId(id, ProcessSupervisor.ErrorResponse(ErrorCodes.NotANefeleProcess,
            $"pid {peer.Pid} (uid {peer.Uid}) is neither a running Nefele process of node {options.Node} nor a descendant of one"));

    /// <summary>Answers send, receive, wait_name and names (true), or leaves the request to <see cref="AnswerAsync"/> (false).</summary>
    private bool TryMessaging(ProcRequest request, Peer peer, ApiConnection writer)
    {
        if (request.BodyCase is not (ProcRequest.BodyOneofCase.Send or ProcRequest.BodyOneofCase.Receive
            or ProcRequest.BodyOneofCase.WaitName or ProcRequest.BodyOneofCase.Names))
        {
            return false;
        }

        if (Identify(peer) is not { } caller)
        {
            writer.Send(NotANefeleProcess(peer, request.Id));
            return true;
        }

        var post = supervisor.Post;
        switch (request.BodyCase)
        {
            case ProcRequest.BodyOneofCase.Send:
                post.Send(caller, request.Id, request.Send, writer);
                break;
            case ProcRequest.BodyOneofCase.Receive:
                post.Receive(caller, request.Id, request.Receive, writer);
                break;
            case ProcRequest.BodyOneofCase.WaitName:
                post.WaitName(caller, request.Id, request.WaitName, writer);
                break;
            default:
                post.ListNames(caller, request.Id, request.Names, writer);
                break;
        }

        return true;
    }

    private async Task<ProcResponse> AnswerAsync(ProcRequest request, Peer peer, CancellationToken ct)
    {
        if (request.BodyCase == ProcRequest.BodyOneofCase.Hello)
        {
            return await supervisor.HelloAsync(request.Hello, peer.Pid, peer.Uid, request.Id);
        }

        if (Identify(peer) is not { } caller)
        {
            return NotANefeleProcess(peer, request.Id);
        }

        switch (request.BodyCase)
        {
            case ProcRequest.BodyOneofCase.Self:
                return new ProcResponse { Id = request.Id, Self = new SelfReply { Npid = caller.Npid, Tenant = caller.Tenant, Node = options.Node } };
            case ProcRequest.BodyOneofCase.Register:
            case ProcRequest.BodyOneofCase.Unregister:
            case ProcRequest.BodyOneofCase.Subscribe:
            case ProcRequest.BodyOneofCase.Unsubscribe:
                // The name-service grains own names and topics: checked here, answered by the silo.
                if (PostOffice.CheckNameCall(request) is { } bad)
                {
                    return WithId(request.Id, ProcessSupervisor.ErrorResponse(ErrorCodes.BadRequest, bad));
                }

                goto case ProcRequest.BodyOneofCase.Spawn;
            case ProcRequest.BodyOneofCase.Spawn:
            case ProcRequest.BodyOneofCase.Monitor:
            case ProcRequest.BodyOneofCase.Kill:
            case ProcRequest.BodyOneofCase.Ps:
            case ProcRequest.BodyOneofCase.Logs:
            case ProcRequest.BodyOneofCase.LogsQuery:
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
        try
        {
            listener?.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }

        acceptThread?.Join(StopCheck * 4);
        listener?.Dispose();

        UnixSockets.Remove(options.ApiSocketPath);
    }
}
