using System.Collections.Concurrent;
using System.Net.Sockets;
using Nefele.Protocol;
using Nefele.Protocol.V1;

namespace Nefele.InProcess;

/// <summary>
/// One connection to hostd's api socket on which any number of requests are in flight together
/// (hostd answers each when it can, a long receive or monitor holding up no other); replies are
/// matched by id. When the connection breaks (hostd restarted) the calls waiting on it fail, and
/// the next call connects again.
/// </summary>
internal sealed class ProcConnection : IAsyncDisposable
{
    private readonly string path;
    private readonly SemaphoreSlim connectLock = new(1, 1);
    private readonly SemaphoreSlim writeLock = new(1, 1);
    private readonly CancellationTokenSource closing = new();
    private Link? link;
    private long nextId;

    public ProcConnection(string path)
    {
        this.path = path;
    }

    public string Path => path;

    /// <summary>
    /// Sends request and waits for its answer of kind <paramref name="expected"/>; an Error answer throws
    /// <see cref="NefeleProcessException"/> with its code. When <paramref name="ct"/> fires first and
    /// <paramref name="abandoned"/> is given, the answer that still comes is handed to it (a receive whose
    /// message must not be lost); otherwise it is dropped.
    /// </summary>
    public async Task<ProcResponse> CallAsync(ProcRequest request, ProcResponse.BodyOneofCase expected, CancellationToken ct,
        Action<ProcResponse>? abandoned = null)
    {
        var current = await ConnectAsync(ct).ConfigureAwait(false);
        var pending = current.Pending;
        request.Id = (ulong)Interlocked.Increment(ref nextId);
        var reply = new TaskCompletionSource<ProcResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        pending[request.Id] = reply;
        if (current.Fault is not null && pending.TryRemove(request.Id, out _))
        {
            throw Lost(current.Fault);
        }

        try
        {
            await writeLock.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                await FrameCodec.WriteAsync(current.Stream, request, CancellationToken.None).ConfigureAwait(false);
            }
            finally
            {
                writeLock.Release();
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException or OperationCanceledException)
        {
            pending.TryRemove(request.Id, out _);
            if (e is OperationCanceledException)
            {
                throw;
            }

            throw Lost(e);
        }

        ProcResponse response;
        try
        {
            response = await reply.Task.WaitAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (abandoned is not null)
        {
            // The request is out: its answer still comes, to whoever takes it over.
            _ = reply.Task.ContinueWith(t => abandoned(t.Result), CancellationToken.None,
                TaskContinuationOptions.OnlyOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw;
        }
        catch (OperationCanceledException)
        {
            pending.TryRemove(request.Id, out _);
            throw;
        }

        return Check(response, expected);
    }

    /// <summary>An Error answer as an exception; an answer of another kind than asked for as a protocol failure.</summary>
    public static ProcResponse Check(ProcResponse response, ProcResponse.BodyOneofCase expected)
    {
        return response.BodyCase switch
        {
            ProcResponse.BodyOneofCase.Error => throw new NefeleProcessException(response.Error.Code, response.Error.Message),
            ProcResponse.BodyOneofCase.Refused => throw new NefeleProcessException(response.Refused.Reason),
            _ when response.BodyCase == expected => response,
            _ => throw new NefeleProcessException($"hostd answered a {expected} request with {response.BodyCase}"),
        };
    }

    public async ValueTask DisposeAsync()
    {
        await closing.CancelAsync().ConfigureAwait(false);
        var last = link;
        if (last is not null)
        {
            last.Socket.Dispose();
            try
            {
                await last.Reader.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The reader's failure was already handed to every caller waiting on it.
            }
        }

        closing.Dispose();
        connectLock.Dispose();
        writeLock.Dispose();
    }

    private async Task<Link> ConnectAsync(CancellationToken ct)
    {
        var current = link;
        if (current is not null && current.Fault is null)
        {
            return current;
        }

        await connectLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            current = link;
            if (current is not null && current.Fault is null)
            {
                return current;
            }

            current?.Socket.Dispose();
            var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await s.ConnectAsync(new UnixDomainSocketEndPoint(path), ct).ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                s.Dispose();
                throw new NefeleProcessException($"cannot reach the api socket at {path} (NEFELE_SOCKET): {e.Message}", e);
            }

            var stream = new NetworkStream(s, ownsSocket: false);
            var fresh = new Link(s, stream);
            fresh.Reader = ReadLoopAsync(fresh, closing.Token);
            link = fresh;
            return fresh;
        }
        finally
        {
            connectLock.Release();
        }
    }

    private async Task ReadLoopAsync(Link current, CancellationToken ct)
    {
        Exception fault;
        try
        {
            var input = FrameCodec.Reader(current.Stream);
            while (true)
            {
                var response = await FrameCodec.ReadAsync(input, ProcResponse.Parser, ct).ConfigureAwait(false);
                if (response is null)
                {
                    fault = new IOException("hostd closed the connection");
                    break;
                }

                if (current.Pending.TryRemove(response.Id, out var waiter))
                {
                    waiter.TrySetResult(response);
                }
            }
        }
        catch (Exception e) when (e is IOException or ProtocolException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            fault = e;
        }

        current.Fault = fault;
        foreach (var id in current.Pending.Keys)
        {
            if (current.Pending.TryRemove(id, out var waiter))
            {
                waiter.TrySetException(Lost(fault));
            }
        }
    }

    private NefeleProcessException Lost(Exception why) => new($"lost the api socket at {path}: {why.Message}", why);

    /// <summary>One connection's socket, its stream and reader, and why it ended.</summary>
    private sealed class Link(Socket socket, NetworkStream stream)
    {
        public Socket Socket { get; } = socket;

        public NetworkStream Stream { get; } = stream;

        public Task Reader { get; set; } = Task.CompletedTask;

        /// <summary>The requests sent on this connection whose answers have not come yet, by id.</summary>
        public ConcurrentDictionary<ulong, TaskCompletionSource<ProcResponse>> Pending { get; } = new();

        public volatile Exception? Fault;
    }
}
