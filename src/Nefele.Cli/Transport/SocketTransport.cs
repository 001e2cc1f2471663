using System.Collections.Concurrent;
using System.Net.Sockets;
using Google.Protobuf;
using Nefele.Cli.Json;
using Nefele.Cli.Parsing;
using Nefele.Protocol;
using Nefele.Protocol.V1;

namespace Nefele.Cli.Transport;

/// <summary>
/// Talks to hostd's api socket (NEFELE_SOCKET), from inside a Nefele process. hostd knows the
/// caller's tenant from the peer's credentials, so no tenant is sent. Requests share one
/// connection and may be in flight together (monitor of several NPIDs); replies are matched by id.
/// </summary>
internal sealed class SocketTransport : INefeleTransport
{
    /// <summary>Largest slice of output asked for per logs call.</summary>
    public const int LogsChunkBytes = 64 * 1024;

    /// <summary>The socket protocol has no wait for new output, so logs -f polls this often.</summary>
    public static readonly TimeSpan LogsPollInterval = TimeSpan.FromMilliseconds(100);

    private readonly string path;
    private readonly SemaphoreSlim connectLock = new(1, 1);
    private readonly SemaphoreSlim writeLock = new(1, 1);
    private readonly ConcurrentDictionary<ulong, TaskCompletionSource<ProcResponse>> pending = new();
    private readonly CancellationTokenSource closing = new();
    private Socket? socket;
    private NetworkStream? stream;
    private Task? reader;
    private long nextId;
    private Exception? readerFault;

    public SocketTransport(string path)
    {
        this.path = path;
    }

    public async Task<SpawnOutcome> SpawnAsync(SpawnBatch batch, CancellationToken ct)
    {
        if (batch.AllowPartial)
        {
            throw new UsageException("--partial is not available inside a Nefele process (the api socket has no partial spawn)");
        }

        var spawn = new SpawnRequest { Count = (uint)batch.Count, RequestId = batch.RequestId ?? string.Empty, Spread = batch.Spread };
        foreach (var task in batch.Tasks)
        {
            var spec = new ProcessSpec
            {
                Path = task.Path,
                Cwd = task.Cwd ?? string.Empty,
                CpuMillis = task.CpuMillis,
                MemoryBytes = task.MemoryBytes,
                Name = task.Name ?? string.Empty,
                NoHandshake = task.NoHandshake,
            };
            spec.Args.AddRange(task.Args);
            spec.Affinity.AddRange(task.Affinity);
            spec.AntiAffinity.AddRange(task.AntiAffinity);
            foreach (var (name, count) in task.Devices)
            {
                spec.Devices[name] = count;
            }

            foreach (var (key, value) in task.Env)
            {
                spec.Env[key] = value;
            }

            foreach (var (name, value) in task.Rlimits)
            {
                spec.Rlimits[name] = value;
            }

            spawn.Tasks.Add(spec);
        }

        var reply = await CallAsync(new ProcRequest { Spawn = spawn }, ProcResponse.BodyOneofCase.Spawn, ct).ConfigureAwait(false);
        return new SpawnOutcome([.. reply.Spawn.Npids], 0, null);
    }

    public async Task<IReadOnlyList<Nefele.Client.ProcessInfo>> PsAsync(bool all, CancellationToken ct)
    {
        var reply = await CallAsync(new ProcRequest { Ps = new PsRequest { All = all } }, ProcResponse.BodyOneofCase.Ps, ct).ConfigureAwait(false);
        return [.. reply.Ps.Processes.Select(ProtoMapping.ToInfo)];
    }

    public async Task<Nefele.Client.ProcessEnd> MonitorAsync(string npid, CancellationToken ct)
    {
        var request = new ProcRequest { Monitor = new MonitorRequest { Npid = npid } };
        var reply = await CallAsync(request, ProcResponse.BodyOneofCase.Monitor, ct).ConfigureAwait(false);
        return reply.Monitor.End is { } end
            ? ProtoMapping.ToEnd(end)
            : throw new NefeleApiException($"hostd answered monitor of {npid} without an end");
    }

    public async Task KillAsync(IReadOnlyList<string> npids, int signal, CancellationToken ct)
    {
        var kill = new KillRequest { Signal = signal };
        kill.Npids.AddRange(npids);
        await CallAsync(new ProcRequest { Kill = kill }, ProcResponse.BodyOneofCase.Kill, ct).ConfigureAwait(false);
    }

    public async Task LogsAsync(string npid, bool follow, Stream output, CancellationToken ct)
    {
        long offset = 0;
        while (true)
        {
            var request = new ProcRequest { Logs = new LogsRequest { Npid = npid, Offset = offset, MaxBytes = LogsChunkBytes } };
            var reply = (await CallAsync(request, ProcResponse.BodyOneofCase.Logs, ct).ConfigureAwait(false)).Logs;
            if (!reply.Data.IsEmpty)
            {
                await output.WriteAsync(reply.Data.Memory, ct).ConfigureAwait(false);
                await output.FlushAsync(ct).ConfigureAwait(false);
            }

            offset = reply.NextOffset;
            if (reply.Complete)
            {
                return;
            }

            if (reply.Data.IsEmpty)
            {
                // Caught up with a process that still runs: without -f that is everything kept so far.
                if (!follow)
                {
                    return;
                }

                await Task.Delay(LogsPollInterval, ct).ConfigureAwait(false);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await closing.CancelAsync().ConfigureAwait(false);
        socket?.Dispose();
        if (reader is not null)
        {
            try
            {
                await reader.ConfigureAwait(false);
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

    private async Task<ProcResponse> CallAsync(ProcRequest request, ProcResponse.BodyOneofCase expected, CancellationToken ct)
    {
        var stream = await ConnectAsync(ct).ConfigureAwait(false);
        request.Id = (ulong)Interlocked.Increment(ref nextId);
        var reply = new TaskCompletionSource<ProcResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        pending[request.Id] = reply;
        if (readerFault is not null && pending.TryRemove(request.Id, out _))
        {
            throw Lost(readerFault);
        }

        try
        {
            await writeLock.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                await FrameCodec.WriteAsync(stream, request, ct).ConfigureAwait(false);
            }
            finally
            {
                writeLock.Release();
            }
        }
        catch (IOException e)
        {
            pending.TryRemove(request.Id, out _);
            throw Lost(e);
        }

        ProcResponse response;
        try
        {
            response = await reply.Task.WaitAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            pending.TryRemove(request.Id, out _);
        }

        if (response.BodyCase == ProcResponse.BodyOneofCase.Error)
        {
            throw new NefeleApiException(response.Error.Message) { Code = response.Error.Code };
        }

        if (response.BodyCase == ProcResponse.BodyOneofCase.Refused)
        {
            throw new NefeleApiException(response.Refused.Reason);
        }

        return response.BodyCase == expected
            ? response
            : throw new NefeleApiException($"hostd answered a {expected} request with {response.BodyCase}");
    }

    private async Task<NetworkStream> ConnectAsync(CancellationToken ct)
    {
        if (stream is not null)
        {
            return stream;
        }

        await connectLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (stream is not null)
            {
                return stream;
            }

            var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await s.ConnectAsync(new UnixDomainSocketEndPoint(path), ct).ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                s.Dispose();
                throw new NefeleApiException($"cannot reach the api socket at {path} (NEFELE_SOCKET): {e.Message}", e);
            }

            socket = s;
            var ns = new NetworkStream(s, ownsSocket: false);
            reader = ReadLoopAsync(ns, closing.Token);
            stream = ns;
            return ns;
        }
        finally
        {
            connectLock.Release();
        }
    }

    private async Task ReadLoopAsync(NetworkStream ns, CancellationToken ct)
    {
        Exception fault;
        try
        {
            while (true)
            {
                var response = await FrameCodec.ReadAsync(ns, ProcResponse.Parser, ct).ConfigureAwait(false);
                if (response is null)
                {
                    fault = new IOException("hostd closed the connection");
                    break;
                }

                if (pending.TryGetValue(response.Id, out var waiter))
                {
                    waiter.TrySetResult(response);
                }
            }
        }
        catch (Exception e) when (e is IOException or ProtocolException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            fault = e;
        }

        readerFault = fault;
        foreach (var id in pending.Keys)
        {
            if (pending.TryRemove(id, out var waiter))
            {
                waiter.TrySetException(Lost(fault));
            }
        }
    }

    private NefeleApiException Lost(Exception why) => new($"lost the api socket at {path}: {why.Message}", why);
}
